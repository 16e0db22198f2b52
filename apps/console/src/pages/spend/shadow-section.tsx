import type { ShadowReportResponse } from '@deliberate/contracts';
import { useConsole } from '../../api/console-context';
import { useLoad } from '../../api/use-load';
import { agreementLine, judgeLine, sideRows, switchingLine } from './shadow-summary';

// Shadow evaluation of the period (GET /v1/shadow/report): how often the shadow model agreed with the live answers,
// what each side cost and took, and what switching the route would cost a month. Empty until the tenant's policy
// names a shadow route.

interface SpendQuery {
  from: string;
  to: string;
  tenantId: string | undefined;
}

export function ShadowSection({ query }: { query: SpendQuery }) {
  const { api } = useConsole();
  const report = useLoad(() => api.get<ShadowReportResponse>('/v1/shadow/report', { ...query }), [query]);
  const data = report.data;
  return (
    <section aria-labelledby="spend-shadow-title">
      <h2 id="spend-shadow-title">Shadow evaluation</h2>
      {report.error ? (
        <p role="alert" className="error">
          {report.error}
        </p>
      ) : null}
      {data ? (
        <>
          <p>
            {data.tasksCompared} task{data.tasksCompared === 1 ? '' : 's'} compared. Agreement:{' '}
            {agreementLine(data)}
          </p>
          {data.tasksCompared > 0 ? (
            <table>
              <caption className="visually-hidden">Live and shadow</caption>
              <thead>
                <tr>
                  <th scope="col">Measure</th>
                  <th scope="col">Live</th>
                  <th scope="col">Shadow</th>
                </tr>
              </thead>
              <tbody>
                {sideRows(data).map((row) => (
                  <tr key={row.label}>
                    <th scope="row">{row.label}</th>
                    <td className="num">{row.live}</td>
                    <td className="num">{row.shadow}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {judgeLine(data) ? <p>{judgeLine(data)}</p> : null}
          {switchingLine(data) ? <p>{switchingLine(data)}</p> : null}
        </>
      ) : null}
    </section>
  );
}
