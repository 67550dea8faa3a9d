// Plain shapes of the SSM gateway, so services never see SDK types.

/** What PutParameter writes: an AMI id under a name, as EC2 image data (SSM checks the id is an image). */
export interface SsmImageParameter {
  name: string;
  value: string;
  dataType: 'aws:ec2:image';
  /** The parameter names the newest image, so a second creation of the same template replaces the id. */
  overwrite: true;
}

export interface SsmParameter {
  name: string;
  value: string;
  dataType: string | undefined;
  version: number;
}

/** The SSM Parameter Store operations the service needs, one region per call. */
export interface SsmGateway {
  /** PutParameter; answers the parameter's new version. */
  putParameter(region: string, parameter: SsmImageParameter): Promise<number>;
  /** GetParameter; undefined when the region has no parameter of that name. */
  getParameter(region: string, name: string): Promise<SsmParameter | undefined>;
}
