/* SPDX-License-Identifier: MIT
 *
 * fl_config.h -- included first by every .c file of flowlake (nginx rule).
 * Sets the feature-test macros so that every translation unit sees the
 * same POSIX.1-2008 environment, whatever system header it includes first.
 */
#ifndef FL_CONFIG_H
#define FL_CONFIG_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1          /* memmem, timegm, madvise */
#endif
#ifndef _FILE_OFFSET_BITS
#define _FILE_OFFSET_BITS 64
#endif

#define FL_VERSION "0.1.0"

#endif /* FL_CONFIG_H */
