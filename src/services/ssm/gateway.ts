// Responsible for every SSM Parameter Store call the service makes, through @aws-sdk/client-ssm
// (AWS, moto or the built-in simulator, which serves SSM's JSON protocol on its EC2 endpoint). The
// only module that loads the SSM SDK; its errors come out as Ec2CallError (same shape: the AWS
// error code, the action, the region), so retry and error mapping are those of EC2 calls.
import type * as Sdk from '@aws-sdk/client-ssm';
import { regionClients, type ClientOptions } from '../aws-clients.js';
import { Ec2CallError } from '../ec2/errors.js';
import type { SsmGateway, SsmParameter } from './types.js';

/** Without an endpoint, the SDK's own resolution (AWS_ENDPOINT_URL_SSM, …). */
export type SsmGatewayOptions = ClientOptions;

type SdkModule = typeof Sdk;

export function createSsmGateway(options: SsmGatewayOptions): SsmGateway & { destroy(): void } {
  // Most servers never write a parameter: the SDK loads on first use.
  const clients = regionClients(
    () => import('@aws-sdk/client-ssm'),
    (sdk, config) => new sdk.SSMClient(config),
    options,
  );

  async function call<T>(region: string, action: string, run: (sdk: SdkModule, client: Sdk.SSMClient) => Promise<T>) {
    const { sdk, client } = await clients.get(region);
    try {
      return await run(sdk, client);
    } catch (err) {
      throw wrapError(err, action, region);
    }
  }

  return {
    putParameter: (region, p) =>
      call(region, 'PutParameter', async (sdk, client) => {
        const res = await client.send(
          new sdk.PutParameterCommand({
            Name: p.name,
            Value: p.value,
            Type: 'String',
            DataType: p.dataType,
            Overwrite: p.overwrite,
          }),
        );
        return res.Version ?? 1;
      }),

    getParameter: (region, name) =>
      call(region, 'GetParameter', async (sdk, client): Promise<SsmParameter | undefined> => {
        try {
          const { Parameter: p } = await client.send(new sdk.GetParameterCommand({ Name: name }));
          return p && { name: p.Name ?? name, value: p.Value ?? '', dataType: p.DataType, version: p.Version ?? 1 };
        } catch (err) {
          if ((err as { name?: string }).name === 'ParameterNotFound') return undefined;
          throw err;
        }
      }),

    destroy: () => clients.destroy(),
  };
}

function wrapError(err: unknown, action: string, region: string): Ec2CallError {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  // Service exceptions carry SSM's code as `name` (ParameterLimitExceeded, …); network failures a Node `code`.
  let code = e.code && !status ? e.code : (e.name ?? 'Unknown');
  // An answer that is not SSM's error JSON (an HTML 500, a proxy page) carries no code.
  if (code === 'Error') code = status ? 'UnparseableResponse' : 'NetworkError';
  return new Ec2CallError(code, (e.message || code).split('\n')[0]!, action, region, status);
}
