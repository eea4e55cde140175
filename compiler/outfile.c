/*
 * outfile.c - output files that appear whole or not at all.
 *
 * Text is written to a temporary file beside the target (same directory, so
 * rename() is atomic) and renamed into place only on success.  After any
 * error the temporary is removed and an existing file of the same name is
 * left exactly as it was.
 */
#include "cnnc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int outfile_open(Pool *pool, OutFile *of, const char *path)
{
    of->path = path;
    of->fp = NULL;
    of->tmp_path = pool_printf(pool, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(of->tmp_path);
    if (fd < 0) {
        diag_file_error(path, "cannot create a file here: %s", strerror(errno));
        of->tmp_path = NULL;
        return -1;
    }
    /* mkstemp makes 0600; give the file the mode a plain create would. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    of->fp = fdopen(fd, "w");
    if (!of->fp) {
        diag_file_error(path, "cannot write: %s", strerror(errno));
        close(fd);
        unlink(of->tmp_path);
        of->tmp_path = NULL;
        return -1;
    }
    return 0;
}

int outfile_commit(OutFile *of)
{
    if (!of->fp)
        return -1;
    bool bad = ferror(of->fp) != 0;
    int err = errno;
    if (fclose(of->fp) != 0 && !bad) {
        bad = true;
        err = errno;
    }
    of->fp = NULL;
    if (bad) {
        diag_file_error(of->path, "cannot write: %s", strerror(err));
        unlink(of->tmp_path);
        return -1;
    }
    if (rename(of->tmp_path, of->path) != 0) {
        diag_file_error(of->path, "cannot replace: %s", strerror(errno));
        unlink(of->tmp_path);
        return -1;
    }
    return 0;
}

void outfile_abort(OutFile *of)
{
    if (of->fp) {
        fclose(of->fp);
        of->fp = NULL;
    }
    if (of->tmp_path)
        unlink(of->tmp_path);
}
