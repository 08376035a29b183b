/* SPDX-License-Identifier: MIT
 *
 * source.c -- the names of the sources (see source.h).
 */
#include "../core/fl_config.h"

#include "source.h"


const char *
fl_source_name(enum fl_source_kind kind)
{
    switch (kind) {
    case FL_SOURCE_INGEST: return "ingest";
    case FL_SOURCE_FIREHOSE: return "firehose";
    case FL_SOURCE_CWL:    return "cwl";
    case FL_SOURCE_WATCH:  return "watch";
    case FL_SOURCE_DEMO:   return "demo";
    case FL_SOURCE_KAFKA:  return "kafka";
    case FL_SOURCE_COUNT:  break;
    }
    return "?";
}
