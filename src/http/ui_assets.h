/* SPDX-License-Identifier: MIT
 *
 * ui_assets.h -- the web UI's files as compiled into the binary.
 *
 * The table is generated at build time by src/tools/embed_assets.c from
 * web/ and uPlot's dist files (Makefile: $(BUILD)/gen/ui_assets.c), so the
 * server reads nothing from disk to serve the UI. ui.c serves it.
 */
#ifndef FL_UI_ASSETS_H
#define FL_UI_ASSETS_H

#include <stddef.h>

struct fl_ui_asset {
    const char          *path;      /* URL path: "/", "/ui/dashboard.js" */
    const char          *type;      /* Content-Type */
    const char          *etag;      /* quoted strong ETag of the content */
    const unsigned char *plain;
    size_t               plain_len;
    const unsigned char *gzip;      /* the same, gzip-encoded */
    size_t               gzip_len;
};

extern const struct fl_ui_asset fl_ui_assets[];
extern const size_t fl_ui_asset_count;

#endif /* FL_UI_ASSETS_H */
