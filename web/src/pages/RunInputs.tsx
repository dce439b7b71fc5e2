import type { RunView } from '../../../contracts/runs.ts';

/** The run's inputs (its params), read-only and folded: files as text, variables as a table, the rest as values. */
export function RunInputs({ run }: { run: Pick<RunView, 'params'> }) {
  const { files, variables, ...rest } = run.params as { files?: Record<string, string>; variables?: Record<string, unknown> } & Record<string, unknown>;
  return (
    <details class="card run-inputs" data-testid="run-inputs">
      <summary>
        <h2>Inputs</h2>
      </summary>
      <dl class="facts">
        {Object.entries(rest).map(([k, v]) => (
          <>
            <dt key={`${k}-k`}>{k}</dt>
            <dd key={`${k}-v`}>
              <code>{JSON.stringify(v)}</code>
            </dd>
          </>
        ))}
      </dl>
      {variables && (
        <>
          <h3>Variables</h3>
          {Object.keys(variables).length === 0 ? (
            <p class="muted small">None.</p>
          ) : (
            <table class="compact-table">
              <tbody>
                {Object.entries(variables).map(([k, v]) => (
                  <tr key={k}>
                    <th scope="row">
                      <code>{k}</code>
                    </th>
                    <td>
                      <code>{JSON.stringify(v)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      {files &&
        Object.entries(files).map(([name, text]) => (
          <figure key={name} class="input-file">
            <figcaption>
              <code>{name}</code>
            </figcaption>
            <pre class="code">{text}</pre>
          </figure>
        ))}
    </details>
  );
}
