/* SPDX-License-Identifier: MIT
 *
 * listing.h -- the Parquet files of an archive, as a list: what a query
 * from the network reads instead of a glob, for two reasons.
 *
 *   - A snapshot: the server lists the files under its snapshot lock, in
 *     the same instant as it takes the records not yet published, so a
 *     query that runs for minutes still counts every record once while
 *     new files appear beside it.
 *   - Nothing but the archive: the walk never follows a symbolic link (a
 *     link in the archive to /etc/passwd or to /etc is skipped, not read
 *     through) and takes only regular files, so the query can be allowed
 *     to read exactly these paths and nothing else.
 *
 * Layout walked: ARCHIVE/year=Y/month=M/day=D/hour=H/NAME.parquet
 * (docs/archive.md).
 */
#ifndef FL_ARCHIVE_LISTING_H
#define FL_ARCHIVE_LISTING_H

#include <stddef.h>

/* Lists the archive's data files, sorted by path: a new array of new
 * strings (fl_archive_listing_free). A missing archive is an empty list.
 * Returns 0, -ENOMEM, or -errno of a folder that could not be read. */
int  fl_archive_list_files(const char *archive_dir, char ***out, size_t *n);
void fl_archive_listing_free(char **files, size_t n);

#endif /* FL_ARCHIVE_LISTING_H */
