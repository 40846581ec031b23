export function ensureTinyproxy(log?: (line: string) => void): string;
