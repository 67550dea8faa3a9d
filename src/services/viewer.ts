/** Who is asking. One local user until tokens exist; every row is owned by a user name. */
export interface Viewer {
  user: string;
  /** Admins may capture any instance and unpublish any community AMI. */
  admin?: boolean;
}

/**
 * What a request read in the same statement as its credentials: the AMI list's generation at its
 * start (src/db/amis.ts), under which its list pages may be served from memory without another
 * round trip to the database. Per request only: a WebSocket connection authenticates once, so its
 * operations have none and read the generation when they run.
 */
export interface RequestSnapshot {
  amiGeneration: string;
}

export const LOCAL_USER = 'local';
