/**
 * Nx's `stream` output style: each line printed as it comes, prefixed with its
 * task, whole lines only, so parallel tasks never interleave mid-line. The
 * run sets STRIDE_STREAM_OUTPUT from Nx's command line (`adoptNxInvocation`).
 */
export function isStreaming(): boolean {
  return process.env.STRIDE_STREAM_OUTPUT === 'true';
}

export function printTaskLine(taskId: string, line: string): void {
  process.stdout.write(`${taskId}: ${line}\n`);
}

export function printTaskOutput(taskId: string, text: string): void {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) printTaskLine(taskId, line);
}
