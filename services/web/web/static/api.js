// The backend's JSON routes; the token lives in sessionStorage (a tab's session), or comes from the gateway.
export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code;
    this.reason = error?.reason;
    this.fields = error?.fields || [];
    this.preconditions = error?.preconditions || [];
  }
}

export function token() { return sessionStorage.getItem("shangji.token"); }
export function setToken(value) {
  if (value) sessionStorage.setItem("shangji.token", value); else sessionStorage.removeItem("shangji.token");
}

async function request(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await response.json();
  if (!response.ok) throw new ApiError(response.status, data.error);
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body ?? {});
export const rpc = (service, method, body) => post(`/api/rpc/${service}/${method}`, body);
