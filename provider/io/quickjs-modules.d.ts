// The slice of QuickJS's built-in `std` and `os` modules (quickjs-libc.c) the adapter uses.

declare module "std" {
  interface FILE {
    puts(s: string): void;
    flush(): void;
    readAsString(maxSize?: number): string;
    close(): number;
    error(): boolean;
  }
  const stdin: FILE;
  export { stdin as in };
  export const out: FILE;
  export const err: FILE;
  export function open(filename: string, flags: string, errorObj?: { errno?: number }): FILE | null;
  export function exit(code: number): never;
  export function strerror(errno: number): string;
}

declare module "os" {
  interface Stat {
    readonly mode: number;
  }
  /** [stat, 0] on success, [undefined-ish, errno] on failure. */
  export function stat(path: string): [Stat, number];
  export const S_IFMT: number;
  export const S_IFDIR: number;
}
