/** Routes a request to the control endpoints, an API endpoint, or a 404; a thrown error becomes a 500. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_PREFIX } from '../api/wire.js';
import { SIM_ENDPOINTS, type SimEndpoint } from './types.js';
import { handleControl, type ControlDeps } from './control.js';
import { sendJson } from './http.js';
import type { RequestListener } from './lifecycle.js';

export type ApiHandler = (req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint) => Promise<void>;

function isSimEndpoint(name: string): name is SimEndpoint {
  return (SIM_ENDPOINTS as readonly string[]).includes(name);
}

async function route(api: ApiHandler, control: ControlDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  if (path === '/__sim' || path.startsWith('/__sim/')) return handleControl(control, req, res, req.url ?? path);
  const name = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : undefined;
  if (name !== undefined && isSimEndpoint(name)) {
    if (req.method === 'POST') return api(req, res, name);
    req.resume();
    return sendJson(res, 404, { error: `method ${req.method} not supported on ${path}; use POST` });
  }
  req.resume();
  sendJson(res, 404, { error: `not found: ${req.method} ${path}` });
}

export function createRouter(api: ApiHandler, control: ControlDeps): RequestListener {
  return (req, res) => {
    route(api, control, req, res).catch((err: unknown) => {
      try {
        sendJson(res, 500, { error: `simulator error: ${err instanceof Error ? err.message : String(err)}` });
      } catch {
        res.destroy();
      }
    });
  };
}
