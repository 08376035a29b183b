/* SPDX-License-Identifier: MIT
 *
 * fl_sync.h -- making a module's mutexes and condition variables all at
 * once, every result checked: either all exist, or none (those made are
 * destroyed again), so that the module's destroy never touches one that
 * was never made.
 */
#ifndef FL_SYNC_H
#define FL_SYNC_H

#include <pthread.h>
#include <stddef.h>

/* Initialises mus[0..n_mu) and cvs[0..n_cv) with default attributes.
 * Returns 0, or -errno of the first that failed (none left made). */
int  fl_sync_init(pthread_mutex_t *const *mus, size_t n_mu,
                  pthread_cond_t *const *cvs, size_t n_cv);

/* Destroys what fl_sync_init made. */
void fl_sync_destroy(pthread_mutex_t *const *mus, size_t n_mu,
                     pthread_cond_t *const *cvs, size_t n_cv);

#endif /* FL_SYNC_H */
