export function ensureChromium(log?: (line: string) => void): string;
