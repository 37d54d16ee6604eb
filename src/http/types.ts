// The HTTP shape every request takes between the client and the services, whether it
// crosses an in-process transport or a real socket.

export interface HttpRequest {
  method: string;
  /** Absolute URL, e.g. http://127.0.0.1:8774/v2.1/servers/<id> */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Something that carries a request to a service and brings its response back. */
export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** A service endpoint: what a WSGI application is to a real OpenStack service. */
export type Handler = (req: HttpRequest) => Promise<HttpResponse>;
