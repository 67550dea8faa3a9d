// An in-memory SsmGateway for the unit tier: parameters per region with versions, every request
// recorded, and faults thrown as the real gateway throws them (Ec2CallError with SSM's code).
import { Ec2CallError } from '../../src/services/ec2/errors.js';
import type { SsmGateway, SsmImageParameter, SsmParameter } from '../../src/services/ssm/types.js';

export interface FakeSsmCall {
  action: 'PutParameter' | 'GetParameter';
  region: string;
  args: unknown;
  errorCode?: string;
}

/** `throttle` is SSM's ThrottlingException (HTTP 400, as SSM answers it); otherwise a code and status. */
export type FakeSsmError = 'throttle' | { code: string; status?: number; message?: string };

export type FakeSsm = ReturnType<typeof createFakeSsm>;

export function createFakeSsm() {
  const parameters = new Map<string, SsmParameter>();
  const calls: FakeSsmCall[] = [];
  const faults: { region: string | undefined; remaining: number; error: FakeSsmError }[] = [];

  function thrown(error: FakeSsmError, action: FakeSsmCall['action'], region: string): Ec2CallError {
    if (error === 'throttle') return new Ec2CallError('ThrottlingException', 'Rate exceeded', action, region, 400);
    return new Ec2CallError(error.code, error.message ?? `injected ${error.code}`, action, region, error.status ?? 400);
  }

  const gateway: SsmGateway = {
    async putParameter(region: string, p: SsmImageParameter) {
      await Promise.resolve();
      const call: FakeSsmCall = { action: 'PutParameter', region, args: p };
      calls.push(call);
      const fault = faults.find((f) => f.region === undefined || f.region === region);
      if (fault) {
        if (--fault.remaining <= 0) faults.splice(faults.indexOf(fault), 1);
        const err = thrown(fault.error, 'PutParameter', region);
        call.errorCode = err.ec2Code;
        throw err;
      }
      const key = `${region}|${p.name}`;
      const existing = parameters.get(key);
      if (existing && !p.overwrite) throw thrown({ code: 'ParameterAlreadyExists' }, 'PutParameter', region);
      const version = (existing?.version ?? 0) + 1;
      parameters.set(key, { name: p.name, value: p.value, dataType: p.dataType, version });
      return version;
    },

    async getParameter(region: string, name: string) {
      await Promise.resolve();
      calls.push({ action: 'GetParameter', region, args: { name } });
      const p = parameters.get(`${region}|${name}`);
      return p && { ...p };
    },
  };

  return {
    ...gateway,
    calls: calls as readonly FakeSsmCall[],
    /** The next PutParameter request(s) (in `region`, or any) fail. */
    failNextPut(options: { region?: string; times?: number; error?: FakeSsmError } = {}): void {
      faults.push({ region: options.region, remaining: options.times ?? 1, error: options.error ?? 'throttle' });
    },
    /** A parameter as SSM holds it, without recording a request. */
    parameter(region: string, name: string): SsmParameter | undefined {
      const p = parameters.get(`${region}|${name}`);
      return p && { ...p };
    },
  };
}
