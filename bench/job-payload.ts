/** The job every scenario enqueues, for both systems: a short text (our echo plugin's args; BullMQ's job data). */
export function jobPayload(index: number): string {
  return `bench job ${index}`;
}
