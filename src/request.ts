import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The body of `POST /nbextract/convert` (paths relative to the server's root folder). */
export interface IConvertRequest {
  path: string;
  name: string;
  output: string;
  force: boolean;
}

/** The reply of a successful conversion. */
export interface IConvertReply {
  output: string;
  report: string;
  manifest: { [key: string]: unknown };
}

/**
 * Ask the server extension to convert a notebook; rejects with the server's one-line message.
 */
export async function requestConversion(
  request: IConvertRequest
): Promise<IConvertReply> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nbextract', 'convert');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      url,
      { method: 'POST', body: JSON.stringify(request) },
      settings
    );
  } catch (error) {
    throw new Error(`The Jupyter server cannot be reached: ${error}`);
  }
  const text = await response.text();
  const reply = parsed(text);
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
  return reply as unknown as IConvertReply;
}

function parsed(text: string): { [key: string]: unknown } | null {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
