// strerror(3) for the errnos the tool reports (glibc's wording).
const TEXT: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded',
  EFBIG: 'File too large',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ECANCELED: 'Operation canceled',
  EINVAL: 'Invalid argument',
  ELOOP: 'Too many levels of symbolic links',
  EEXIST: 'File exists',
  EMFILE: 'Too many open files',
};

/** strerror(3); an errno without an entry reads as EIO's text, as the block layer reports it */
export function strerror(code: string | undefined): string {
  return (code && Object.hasOwn(TEXT, code) ? TEXT[code] : undefined) ?? 'Input/output error';
}
