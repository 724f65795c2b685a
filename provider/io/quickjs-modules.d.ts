// The slice of QuickJS's built-in `std` and `os` modules (quickjs-libc.c) the adapter uses.

declare module "std" {
  export interface FILE {
    puts(s: string): void;
    flush(): void;
    /** Reads at most maxSize bytes (fgetc until EOF or an error), decoded as UTF-8. */
    readAsString(maxSize?: number): string;
    /** The next byte, or -1 at the end or on an error. */
    getByte(): number;
    close(): number;
    /** ferror(): whether a read or write on this FILE failed. */
    error(): boolean;
  }
  const stdin: FILE;
  export { stdin as in };
  export const out: FILE;
  export const err: FILE;
  export function open(filename: string, flags: string, errorObj?: { errno?: number }): FILE | null;
  export function fdopen(fd: number, flags: string, errorObj?: { errno?: number }): FILE | null;
  export function exit(code: number): never;
  export function strerror(errno: number): string;
  export const SEEK_CUR: number;
}

declare module "os" {
  export interface Stat {
    readonly mode: number;
    readonly size: number;
  }
  /** [stat, 0] on success, [null, errno] on failure; follows symbolic links. */
  export function stat(path: string): [Stat, number];
  /** open(2): the descriptor, or -errno. */
  export function open(path: string, flags: number, mode?: number): number;
  /** close(2): 0 or -errno. */
  export function close(fd: number): number;
  /** lseek(2): the offset, or -errno. */
  export function seek(fd: number, offset: number, whence: number): number;
  /** func undefined: SIG_IGN; null: SIG_DFL. */
  export function signal(sig: number, func: (() => void) | null | undefined): void;
  export const O_RDONLY: number;
  export const SIGPIPE: number;
}
