/* SPDX-License-Identifier: MIT
 *
 * fl_compiler.h -- compiler attributes shared by every component.
 *
 * One definition of each, so a header that declares a printf-like
 * function does not carry its own copy of the #if (they used to: query/,
 * config/, ingest/ each had one).
 */
#ifndef FL_COMPILER_H
#define FL_COMPILER_H

/* Marks a printf-like function: argument fmt_idx is the format, the
 * variable arguments start at first_arg. -Wformat=2 wants every such
 * function marked so that a wrong argument is a build error; GNU C only,
 * nothing elsewhere. */
#if defined(__GNUC__)
#define FL_PRINTF(fmt_idx, first_arg) \
    __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define FL_PRINTF(fmt_idx, first_arg)
#endif

#endif /* FL_COMPILER_H */
