/** Who is asking. One local user until tokens exist; every row is owned by a user name. */
export interface Viewer {
  user: string;
}

export const LOCAL_USER = 'local';
