/** Who is asking. One local user until tokens exist; every row is owned by a user name. */
export interface Viewer {
  user: string;
  /** Admins may capture any instance and unpublish any community AMI. */
  admin?: boolean;
}

export const LOCAL_USER = 'local';
