/**
 * The group a task's figures fall back to and are summed under: its target and
 * configuration (`build`, `build:production`), from an Nx task id
 * `project:target[:configuration]`.
 */
export function targetOf(taskId: string): string {
  return taskId.slice(taskId.indexOf(':') + 1);
}
