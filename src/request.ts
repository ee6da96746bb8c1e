import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The body of a conversion request (paths relative to the server's root folder). */
export interface IConvertRequest {
  path: string;
  name: string;
  output: string;
  force: boolean;
  input_var: string | null;
  output_var: string | null;
  execute: boolean;
}

/** A conversion job as `GET /nbextract/jobs/ID` shows it. */
export interface IJob {
  id: string;
  state: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  progress: { done: number; total: number; label: string };
  status: number | null;
  output?: string;
  report?: string;
  manifest?: { [key: string]: unknown };
  message?: string;
}

/** What the dialog shows under its fields while the user types (null: no problem). */
export interface ICheck {
  name: string | null;
  output: string | null;
  exists: boolean;
}

/** A variable the source binds, and where it is last bound. */
export interface IVariable {
  name: string;
  origin: string;
}

export function startJob(request: IConvertRequest): Promise<IJob> {
  return call<IJob>('jobs', 'POST', request);
}

export function getJob(id: string): Promise<IJob> {
  return call<IJob>(`jobs/${id}`, 'GET');
}

export function cancelJob(id: string): Promise<IJob> {
  return call<IJob>(`jobs/${id}`, 'DELETE');
}

export function check(request: IConvertRequest): Promise<ICheck> {
  const { path, name, output, force } = request;
  return call<ICheck>('check', 'POST', { path, name, output, force });
}

export async function analyze(path: string): Promise<IVariable[]> {
  const reply = await call<{ variables: IVariable[] }>('analyze', 'POST', { path });
  return reply.variables;
}

/**
 * Call a route of the server extension; rejects with the server's one-line message.
 */
async function call<T>(route: string, method: string, body?: object): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nbextract', route);
  const init = body ? { method, body: JSON.stringify(body) } : { method };
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new Error(`The Jupyter server cannot be reached: ${error}`);
  }
  const reply = parsed(await response.text());
  if (!response.ok) {
    const message =
      typeof reply?.message === 'string'
        ? reply.message
        : `${response.status} ${response.statusText}`;
    throw new Error(message);
  }
  if (reply === null) {
    throw new Error('The server sent a reply that is not JSON.');
  }
  return reply as T;
}

function parsed(text: string): { [key: string]: unknown } | null {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
