/* SPDX-License-Identifier: MIT
 *
 * fl_sync.c -- mutexes and conditions made all or none (see fl_sync.h).
 */
#include "fl_config.h"

#include "fl_sync.h"


int
fl_sync_init(pthread_mutex_t *const *mus, size_t n_mu,
             pthread_cond_t *const *cvs, size_t n_cv)
{
    size_t m = 0, c = 0;
    int rc = 0;

    for (; m < n_mu; m++)
        if ((rc = pthread_mutex_init(mus[m], NULL)) != 0)
            goto undo;
    for (; c < n_cv; c++)
        if ((rc = pthread_cond_init(cvs[c], NULL)) != 0)
            goto undo;
    return 0;
undo:
    fl_sync_destroy(mus, m, cvs, c);
    return -rc;
}


void
fl_sync_destroy(pthread_mutex_t *const *mus, size_t n_mu,
                pthread_cond_t *const *cvs, size_t n_cv)
{
    while (n_cv-- > 0)
        pthread_cond_destroy(cvs[n_cv]);
    while (n_mu-- > 0)
        pthread_mutex_destroy(mus[n_mu]);
}
