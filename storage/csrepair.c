/* SPDX-License-Identifier: Apache-2.0 */
/* fsck and repair of replicated chunksets (kura admin fsck / repair);
 * contract in chunkset.h, "Audit and repair".
 *
 * Invariants:
 * - A needle is wanted when some member lists it complete and no member
 *   lists it deleted (a delete that reached one member is a delete: the
 *   metadata no longer names the needle, so it is never copied again).
 * - A member is replaced, never patched: its chunk may be sealed and
 *   compacting, so needles are never written into it after the fact. The
 *   replacement is a new placed chunk that receives every wanted needle
 *   that still has a good copy, at its offset, and is sealed before the
 *   record names it (compare-and-set on the record read at the start).
 * - The chunkset is sealed before any member is replaced, and its members
 *   are listed again once sealed (vol_chunk_seal waits for the needles
 *   under way), so every needle acknowledged before the seal is in the
 *   lists the copies are made from, and none is appended afterwards.
 * - An old member gives back only the needles copied from elsewhere: a
 *   needle nothing else holds is never deleted by a repair.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "storage/chunkset.h"
#include "storage/dnreg.h"
#include "storage/ec.h"

typedef struct health_entry {
    uint64_t csid, offset;
    uint32_t copies, replicas, need;
} health_entry;

struct cs_health {
    health_entry *v;
    size_t n, cap;
};

static int cmp_health(const void *a, const void *b) {
    const health_entry *x = a, *y = b;
    if (x->csid != y->csid) return x->csid < y->csid ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static kerr health_add(cs_health *h, uint64_t csid, uint64_t offset, uint32_t copies,
                       uint32_t replicas, uint32_t need) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        health_entry *grown = realloc(h->v, cap * sizeof *grown);
        if (!grown) return K_ENOMEM;
        h->v = grown;
        h->cap = cap;
    }
    h->v[h->n++] = (health_entry){csid, offset, copies, replicas, need};
    return K_OK;
}

bool cs_health_get(const cs_health *h, uint64_t csid, uint64_t offset, uint32_t *copies,
                   uint32_t *replicas, uint32_t *need) {
    health_entry key = {.csid = csid, .offset = offset};
    const health_entry *e = h ? bsearch(&key, h->v, h->n, sizeof *h->v, cmp_health) : NULL;
    if (!e) return false;
    *copies = e->copies;
    *replicas = e->replicas;
    *need = e->need;
    return true;
}

void cs_health_free(cs_health *h) {
    if (!h) return;
    free(h->v);
    free(h);
}

/* ---- the cluster as seen now ---- */

typedef struct view {
    dn_info *dns;
    size_t ndn;
} view;

/* The datanode (up) serving volume uid, or NULL. */
static const dn_info *dn_of(const view *w, uint64_t uid) {
    for (size_t i = 0; i < w->ndn; i++)
        for (size_t v = 0; w->dns[i].up && v < w->dns[i].nvolumes; v++)
            if (w->dns[i].volumes[v] == uid) return &w->dns[i];
    return NULL;
}

/* ---- one chunkset ---- */

typedef struct wanted {
    uint64_t offset, length;
    bool deleted;     /* some member lists it deleted */
    uint32_t good;    /* bitmask of members holding a good copy */
    uint32_t present; /* bitmask of members listing it complete */
} wanted;

/* A needle as one member lists it. */
typedef struct listed {
    vol_needle n;
    uint32_t member;
} listed;

static int cmp_listed(const void *a, const void *b) {
    const listed *x = a, *y = b;
    if (x->n.offset != y->n.offset) return x->n.offset < y->n.offset ? -1 : 1;
    return x->member < y->member ? -1 : x->member > y->member;
}

/* Reads the whole needle at (index, chunk, offset) into buf (verified). */
static kerr read_needle(volset *vs, uint32_t index, uint32_t chunk, const wanted *n, void *buf) {
    vol_loc l = {.volume = index, .chunk = chunk, .offset = n->offset, .length = n->length};
    return vol_read(vs, &l, 0, buf, (size_t)n->length);
}

/* Picks a datanode volume for a new member of c replacing member `bad`:
 * up, answering, on no datanode of another member; a zone no other member
 * uses first. 0 if none. */
static uint64_t pick_volume(volset *vs, const view *w, const cs_info *c, uint32_t bad) {
    uint64_t best = 0;
    int best_rank = -1;
    for (size_t i = 0; i < w->ndn; i++) {
        const dn_info *d = &w->dns[i];
        if (!d->up || !d->nvolumes) continue;
        bool taken = false, zone_used = false;
        for (uint32_t m = 0; m < c->n; m++) {
            if (m == bad) continue;
            const dn_info *o = dn_of(w, c->m[m].uid);
            if (o == d) taken = true;
            if (o && !strcmp(o->zone, d->zone)) zone_used = true;
        }
        if (taken) continue;
        uint32_t index;
        vol_space sp;
        uint64_t uid = d->volumes[(c->id + bad) % d->nvolumes];
        if (!volset_resolve_uid(vs, uid, &index) || volset_space_get(vs, index, &sp) != K_OK ||
            sp.stat_failed)
            continue;
        int rank = (zone_used ? 0 : 2) + (dn_of(w, c->m[bad].uid) == d ? 0 : 1);
        if (rank > best_rank) {
            best_rank = rank;
            best = uid;
        }
    }
    return best;
}

/* The block of member `bad` for needle n of stripeset c, rebuilt from k
 * good blocks of the others into out (blocks: scratch of n members). */
static kerr rebuild_block(volset *vs, ec_code *code, const cs_info *c, uint32_t bad,
                          const wanted *n, const uint32_t *index, uint8_t *space, uint8_t *out) {
    uint8_t *bl[CS_MAX_REPLICAS];
    uint32_t missing = 0, have = 0;
    for (uint32_t b = 0; b < c->n; b++) {
        bl[b] = b == bad ? out : space + (size_t)b * n->length;
        if (b == bad || have == c->k || !(n->good & (1u << b)) ||
            read_needle(vs, index[b], c->m[b].chunk, n, bl[b]) != K_OK) {
            missing |= 1u << b;
            continue;
        }
        have++;
    }
    if (have < c->k) return K_EUNAVAILABLE;
    return ec_reconstruct(code, (size_t)n->length, bl, missing, 1u << bad);
}

/* What one look at a chunkset's members found. */
typedef struct survey {
    vol_needle *inv[CS_MAX_REPLICAS]; /* each member's list */
    size_t ninv[CS_MAX_REPLICAS];
    uint32_t index[CS_MAX_REPLICAS]; /* the members' volumes in vs */
    bool avail[CS_MAX_REPLICAS];     /* listed */
    uint64_t tail[CS_MAX_REPLICAS];  /* end of the last needle listed */
    wanted *need;                    /* merged, by offset */
    size_t nneed;
    uint64_t biggest; /* longest needle */
    uint8_t *buf;     /* biggest bytes */
} survey;

static void survey_free(survey *sv) {
    for (uint32_t m = 0; m < CS_MAX_REPLICAS; m++) free(sv->inv[m]);
    free(sv->need);
    free(sv->buf);
    memset(sv, 0, sizeof *sv);
}

/* Lists the members of c that answer, merges their lists into the wanted
 * needles and, with deep, reads every copy (a copy that fails is not
 * good). */
static kerr survey_take(volset *vs, const view *w, const cs_info *c, bool deep, survey *sv) {
    memset(sv, 0, sizeof *sv);
    size_t total = 0;
    for (uint32_t m = 0; m < c->n; m++) {
        if (!dn_of(w, c->m[m].uid) || !volset_resolve_uid(vs, c->m[m].uid, &sv->index[m])) continue;
        kerr e = vol_chunk_needles(vs, sv->index[m], c->m[m].chunk, &sv->inv[m], &sv->ninv[m]);
        if (e) {
            log_warn("fsck: chunkset %016" PRIx64 " member %u: cannot list its chunk: %s", c->id, m,
                     kerr_name(e));
            continue;
        }
        sv->avail[m] = true;
        total += sv->ninv[m];
        for (size_t i = 0; i < sv->ninv[m]; i++) {
            uint64_t end = sv->inv[m][i].offset + sv->inv[m][i].length;
            if (end > sv->tail[m]) sv->tail[m] = end;
        }
    }
    listed *all = malloc((total ? total : 1) * sizeof *all);
    sv->need = calloc(total ? total : 1, sizeof *sv->need);
    if (!all || !sv->need) {
        free(all);
        return K_ENOMEM;
    }
    size_t nall = 0;
    for (uint32_t m = 0; m < c->n; m++)
        for (size_t i = 0; i < sv->ninv[m]; i++) all[nall++] = (listed){sv->inv[m][i], m};
    qsort(all, nall, sizeof *all, cmp_listed);
    for (size_t i = 0; i < nall; i++) {
        const vol_needle *nd = &all[i].n;
        if (!sv->nneed || sv->need[sv->nneed - 1].offset != nd->offset)
            sv->need[sv->nneed++] = (wanted){.offset = nd->offset, .length = nd->length};
        wanted *wn = &sv->need[sv->nneed - 1];
        if (nd->length != wn->length) {
            log_error("fsck: chunkset %016" PRIx64 " offset %" PRIu64
                      ": members disagree on the length (%" PRIu64 " vs %" PRIu64 ")",
                      c->id, nd->offset, nd->length, wn->length);
            continue; /* not a good copy of the first one seen */
        }
        if (nd->deleted) wn->deleted = true;
        wn->present |= 1u << all[i].member;
        wn->good |= 1u << all[i].member;
    }
    free(all);
    for (size_t k = 0; k < sv->nneed; k++)
        if (sv->need[k].length > sv->biggest) sv->biggest = sv->need[k].length;
    sv->buf = malloc(sv->biggest ? (size_t)sv->biggest : 1);
    if (!sv->buf) return K_ENOMEM;
    for (size_t k = 0; deep && k < sv->nneed; k++) {
        wanted *n = &sv->need[k];
        if (n->deleted) continue;
        for (uint32_t m = 0; m < c->n; m++) {
            if (!(n->good & (1u << m))) continue;
            kerr e = read_needle(vs, sv->index[m], c->m[m].chunk, n, sv->buf);
            if (e) {
                log_warn("fsck: chunkset %016" PRIx64 " member %u offset %" PRIu64 ": %s", c->id, m,
                         n->offset, kerr_name(e));
                n->good &= ~(1u << m);
            }
        }
    }
    return K_OK;
}

/* The members to replace: gone (not listed), or without a good copy of a
 * wanted needle. In an open chunkset, needles past a member's own last
 * one are left out: appends still under way reach the members one after
 * another, so only holes below a member's tail count there. */
static uint32_t bad_members(const cs_info *c, const survey *sv) {
    uint32_t bad = 0;
    for (uint32_t m = 0; m < c->n; m++) {
        if (!sv->avail[m]) {
            bad |= 1u << m;
            continue;
        }
        for (size_t k = 0; k < sv->nneed; k++) {
            const wanted *n = &sv->need[k];
            if (n->deleted || (n->good & (1u << m))) continue;
            /* too few good copies to make another (lost, or the orphan of
             * a stripe that never completed): no replacement helps */
            if ((uint32_t)__builtin_popcount(n->good) < (c->k ? c->k : 1)) continue;
            if (!c->sealed && !(n->present & (1u << m)) && n->offset >= sv->tail[m]) continue;
            bad |= 1u << m;
        }
    }
    return bad;
}

/* Replaces member `bad` of *c by a new chunk holding every wanted needle
 * with enough good copies elsewhere. On success *c names the new member
 * (record updated) and the old copy gives back the needles that were
 * copied (only those: a needle nothing else holds stays where it is). */
static kerr replace_member(kv *meta, volset *vs, const view *w, cs_info *c, uint32_t bad,
                           survey *sv, ec_code *code, uint8_t *space, cs_audit_stats *st) {
    uint64_t uid = pick_volume(vs, w, c, bad);
    uint32_t ni, chunk;
    if (!uid || !volset_resolve_uid(vs, uid, &ni)) {
        log_error("repair: chunkset %016" PRIx64 ": no datanode can take the place of member %u",
                  c->id, bad);
        return K_EUNAVAILABLE;
    }
    bool *copied = calloc(sv->nneed ? sv->nneed : 1, sizeof *copied);
    vol_loc *done = calloc(sv->nneed ? sv->nneed : 1, sizeof *done);
    kerr rc = copied && done ? vol_chunk_create_placed(vs, ni, &chunk) : K_ENOMEM;
    if (rc) {
        free(copied);
        free(done);
        return rc;
    }
    uint64_t ncopied = 0, bytes = 0;
    uint32_t need_copies = c->k ? c->k : 1;
    for (size_t k = 0; rc == K_OK && k < sv->nneed; k++) {
        wanted *n = &sv->need[k];
        uint32_t others = (uint32_t)__builtin_popcount(n->good & ~(1u << bad));
        uint32_t total = (uint32_t)__builtin_popcount(n->good);
        if (n->deleted || total < need_copies) continue; /* gone, or lost */
        kerr rr = K_EUNAVAILABLE;
        /* the member's own copy when it is good (a member replaced for a
         * hole elsewhere), else from the others */
        if (n->good & (1u << bad))
            rr = read_needle(vs, sv->index[bad], c->m[bad].chunk, n, sv->buf);
        if (rr && others >= need_copies) {
            if (c->k) {
                rr = rebuild_block(vs, code, c, bad, n, sv->index, space, sv->buf);
            } else {
                for (uint32_t m = 0; m < c->n && rr; m++)
                    if (m != bad && (n->good & (1u << m)))
                        rr = read_needle(vs, sv->index[m], c->m[m].chunk, n, sv->buf);
            }
        }
        if (rr) continue; /* the good copies went bad meanwhile: counted as before */
        vol_writer *wr;
        rc = vol_writer_begin_at(vs, ni, chunk, n->offset, n->length, NULL, 0, &wr);
        if (rc == K_OK) {
            rc = vol_writer_write(wr, sv->buf, (size_t)n->length);
            if (rc)
                vol_writer_abort(wr);
            else
                rc = vol_writer_finish(wr, &done[k]);
        }
        if (rc == K_OK) {
            copied[k] = true;
            ncopied++;
            bytes += n->length;
        }
    }
    if (rc)
        log_error("repair: chunkset %016" PRIx64 ": copying to the new member failed: %s", c->id,
                  kerr_name(rc));
    /* a needle readable through the old member that the new one did not
     * get, and that the others cannot serve: the swap would lose it */
    for (size_t k = 0; rc == K_OK && k < sv->nneed; k++) {
        const wanted *n = &sv->need[k];
        if (!n->deleted && !copied[k] && (n->good & (1u << bad)) &&
            (uint32_t)__builtin_popcount(n->good & ~(1u << bad)) < need_copies) {
            log_error("repair: chunkset %016" PRIx64 ": the copy at %" PRIu64
                      " could not be made and nothing else holds it; member %u kept",
                      c->id, n->offset, bad);
            rc = K_EUNAVAILABLE;
        }
    }
    /* sealed before the record names it */
    if (rc == K_OK) rc = vol_chunk_seal(vs, ni, chunk);
    cs_info next = *c;
    next.m[bad] = (cs_member){.uid = uid, .chunk = chunk};
    if (rc == K_OK) {
        kbuf old = KBUF_INIT, rec = KBUF_INIT;
        cs_encode(c, &old);
        cs_encode(&next, &rec);
        char key[18];
        cs_record_key(c->id, key);
        rc = kv_cas(meta, key, 17, old.data, old.len, rec.data, rec.len);
        if (rc && rc != K_ECONFLICT) {
            /* the store failed to answer: the swap may have happened */
            kbuf now = KBUF_INIT;
            if (kv_get(meta, key, 17, &now) == K_OK && now.len == rec.len &&
                !memcmp(now.data, rec.data, rec.len))
                rc = K_OK;
            kbuf_free(&now);
        }
        kbuf_free(&old);
        kbuf_free(&rec);
        if (rc)
            log_error("repair: chunkset %016" PRIx64 ": its record changed meanwhile (%s); run "
                      "repair again",
                      c->id, kerr_name(rc));
    }
    if (rc) {
        /* the new chunk is named by nothing: its needles go, so that
         * compaction gives the space back */
        for (size_t k = 0; k < sv->nneed; k++)
            if (copied[k]) (void)vol_delete(vs, &done[k]);
        (void)vol_chunk_seal(vs, ni, chunk);
        free(copied);
        free(done);
        return rc;
    }
    log_info("repair: chunkset %016" PRIx64 ": member %u (volume %016" PRIx64
             ") replaced by chunk %u of volume %016" PRIx64 ", %" PRIu64 " needles copied",
             c->id, bad, c->m[bad].uid, chunk, uid, ncopied);
    /* the old copy, when it still answers: the needles copied are deleted
     * there so that compaction gives the space back */
    uint32_t oi;
    if (dn_of(w, c->m[bad].uid) && volset_resolve_uid(vs, c->m[bad].uid, &oi)) {
        for (size_t k = 0; k < sv->nneed; k++)
            if (copied[k] && (sv->need[k].present & (1u << bad))) {
                vol_loc l = {.volume = oi,
                             .chunk = c->m[bad].chunk,
                             .offset = sv->need[k].offset,
                             .length = sv->need[k].length};
                (void)vol_delete(vs, &l);
            }
        (void)vol_chunk_seal(vs, oi, c->m[bad].chunk);
    }
    for (size_t k = 0; k < sv->nneed; k++) {
        sv->need[k].good &= ~(1u << bad);
        sv->need[k].present &= ~(1u << bad);
        if (copied[k]) sv->need[k].good |= sv->need[k].present |= 1u << bad;
    }
    sv->index[bad] = ni;
    sv->avail[bad] = true;
    free(copied);
    free(done);
    *c = next;
    st->members_replaced++;
    st->needles_copied += ncopied;
    st->bytes_copied += bytes;
    return K_OK;
}

/* The code of a stripeset, kept across chunksets of the same shape. */
typedef struct code_cache {
    ec_code *code;
    uint32_t k, m;
} code_cache;

static kerr code_for(code_cache *cc, uint32_t k, uint32_t m, ec_code **out) {
    if (!cc->code || cc->k != k || cc->m != m) {
        ec_free(cc->code);
        cc->code = NULL;
        kerr rc = ec_new(k, m, &cc->code);
        if (rc) return rc;
        cc->k = k;
        cc->m = m;
    }
    *out = cc->code;
    return K_OK;
}

/* Seals c and looks at it again: once every member that answered is
 * sealed, with no needle under way, its lists are final. */
static kerr seal_and_resurvey(kv *meta, volset *vs, const view *w, cs_info *c, bool deep,
                              survey *sv) {
    uint32_t listed = 0, sealed = 0;
    for (uint32_t m = 0; m < c->n; m++) listed |= sv->avail[m] ? 1u << m : 0;
    kerr rc = cs_seal(meta, vs, c, &sealed);
    if (rc) return rc;
    if ((listed & sealed) != listed) {
        log_warn("repair: chunkset %016" PRIx64 ": a member that answered could not be sealed "
                 "yet; left for the next run",
                 c->id);
        return K_EUNAVAILABLE;
    }
    survey_free(sv);
    return survey_take(vs, w, c, deep, sv);
}

static kerr audit_one(kv *meta, volset *vs, const view *w, uint64_t id, const cs_audit_opts *o,
                      code_cache *cc, cs_audit_stats *st, cs_health *h) {
    char key[18];
    cs_record_key(id, key);
    kbuf v = KBUF_INIT;
    kerr rc = kv_get(meta, key, 17, &v);
    cs_info c;
    if (rc == K_OK) rc = cs_decode(v.data, v.len, &c);
    kbuf_free(&v);
    if (rc) {
        log_error("fsck: chunkset %016" PRIx64 ": record unreadable: %s", id, kerr_name(rc));
        return rc;
    }
    st->chunksets++;
    survey sv;
    uint8_t *space = NULL;
    rc = survey_take(vs, w, &c, o->deep, &sv);
    if (rc) goto out;
    uint32_t bad = bad_members(&c, &sv);
    uint32_t need_copies = c.k ? c.k : 1;
    bool gone = false;
    for (uint32_t m = 0; m < c.n; m++) gone |= !sv.avail[m];
    if (o->repair && bad && !c.sealed && !gone) {
        /* an open chunkset whose members only disagree: appends finish out
         * of order, so a hole must still be there a moment later before it
         * is worth sealing a busy chunkset for */
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        survey_free(&sv);
        rc = survey_take(vs, w, &c, o->deep, &sv);
        if (rc) goto out;
        bad = bad_members(&c, &sv);
    }
    if (o->repair && bad) {
        /* first sealed, then looked at again: what an append finished
         * meanwhile is in the lists the copies are made from */
        kerr e = seal_and_resurvey(meta, vs, w, &c, o->deep, &sv);
        if (e == K_ENOMEM) {
            rc = e;
            goto out;
        }
        bad = e ? 0 : bad_members(&c, &sv);
        if (e) st->repairs_failed++;
        uint32_t n_avail = 0;
        for (uint32_t m = 0; m < c.n; m++) n_avail += sv.avail[m];
        ec_code *code = NULL;
        if (bad && c.k) {
            space = malloc((size_t)c.n * (sv.biggest ? (size_t)sv.biggest : 1));
            if (!space || code_for(cc, c.k, c.n - c.k, &code) != K_OK) {
                rc = K_ENOMEM;
                goto out;
            }
        }
        if (bad && n_avail < need_copies) {
            log_error("repair: chunkset %016" PRIx64 ": too few members answer; nothing to copy "
                      "from",
                      id);
            bad = 0;
        }
        /* members that are gone first: one replaced for a hole can then
         * be copied from them, and from its own good copies */
        for (int pass = 0; bad && pass < 2; pass++)
            for (uint32_t m = 0; m < c.n; m++) {
                if (!(bad & (1u << m)) || sv.avail[m] == (pass == 0)) continue;
                bad &= ~(1u << m); /* once: a replaced member is available after */
                if (replace_member(meta, vs, w, &c, m, &sv, code, space, st)) st->repairs_failed++;
            }
    }
    for (size_t k = 0; k < sv.nneed; k++) {
        if (sv.need[k].deleted) continue;
        uint32_t copies = (uint32_t)__builtin_popcount(sv.need[k].good);
        st->needles++;
        if (copies < need_copies)
            st->lost++;
        else if (copies < c.n)
            st->degraded++;
        else
            st->healthy++;
        rc = health_add(h, id, sv.need[k].offset, copies, c.n, need_copies);
        if (rc) break;
    }
out:
    survey_free(&sv);
    free(space);
    return rc;
}

kerr cs_audit(kv *meta, volset *vs, const cs_audit_opts *o, cs_audit_stats *st, cs_health **out) {
    *out = NULL;
    memset(st, 0, sizeof *st);
    cs_health *h = calloc(1, sizeof *h);
    if (!h) return K_ENOMEM;
    view w = {0};
    code_cache cc = {0};
    kerr rc = dnreg_list(meta, clock_real_ms(), DNREG_DOWN_AFTER_MS, &w.dns, &w.ndn);
    kbuf idx = KBUF_INIT;
    if (rc == K_OK) {
        rc = kv_get(meta, CS_ALL_INDEX, strlen(CS_ALL_INDEX), &idx);
        if (rc == K_ENOTFOUND) rc = K_OK;
    }
    size_t nids = rc == K_OK ? idx.len / 17 : 0;
    for (size_t i = 0; rc == K_OK && i < nids; i++) {
        if (o->cancel && o->cancel(o->arg)) {
            rc = K_ECONFLICT;
            break;
        }
        if (i && o->pause_ms) {
            struct timespec ts = {o->pause_ms / 1000, (long)(o->pause_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        unsigned long long id;
        char hex[17];
        memcpy(hex, idx.data + 17 * i, 16);
        hex[16] = 0;
        if (sscanf(hex, "%16llx", &id) != 1 || !id) continue;
        kerr e = audit_one(meta, vs, &w, id, o, &cc, st, h);
        if (e == K_ENOMEM) rc = e;
        if (e && e != K_ENOMEM) st->unreadable++;
        if (o->progress) o->progress(o->arg, i + 1, nids);
    }
    kbuf_free(&idx);
    dnreg_list_free(w.dns, w.ndn);
    ec_free(cc.code);
    if (rc) {
        cs_health_free(h);
        return rc;
    }
    qsort(h->v, h->n, sizeof *h->v, cmp_health);
    *out = h;
    return K_OK;
}

/* ---- the background scrubber ---- */

#define LEASE_KEY "SL"

struct cs_scrubber {
    kv *meta;
    volset *vs;
    unsigned interval_s, pause_ms;
    uint64_t holder;
    int64_t lease_until; /* ms; ours while > now */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    _Atomic bool stop;
    bool lost;         /* the lease went to another gateway during a pass */
    cs_scrub_stats st; /* mu */
};

void cs_scrub_stats_get(cs_scrubber *s, cs_scrub_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}

/* Takes or renews the lease for another lease_ms. */
static bool lease_take(cs_scrubber *s, int64_t lease_ms) {
    kbuf cur = KBUF_INIT;
    kerr rc = kv_get(s->meta, LEASE_KEY, 2, &cur);
    int64_t now = clock_real_ms();
    bool ok = false;
    if (rc == K_OK || rc == K_ENOTFOUND) {
        unsigned long long holder = 0;
        long long until = 0;
        if (rc == K_OK) {
            char text[64];
            size_t n = cur.len < sizeof text - 1 ? cur.len : sizeof text - 1;
            memcpy(text, cur.data, n);
            text[n] = 0;
            if (sscanf(text, "%16llx %lld", &holder, &until) != 2) holder = 0, until = 0;
        }
        if (holder == s->holder || until < now) {
            char next[64];
            int n = snprintf(next, sizeof next, "%016llx %lld", (unsigned long long)s->holder,
                             (long long)(now + lease_ms));
            ok = kv_cas(s->meta, LEASE_KEY, 2, rc == K_OK ? cur.data : NULL,
                        rc == K_OK ? cur.len : 0, next, (size_t)n) == K_OK;
            if (ok) s->lease_until = now + lease_ms;
        }
    }
    kbuf_free(&cur);
    return ok;
}

static bool scrub_cancel(void *arg) {
    cs_scrubber *s = arg;
    if (atomic_load(&s->stop)) return true;
    /* renew well before it runs out; a lost lease ends the pass */
    if (clock_real_ms() > s->lease_until - 30000 && !lease_take(s, 60000)) {
        s->lost = true;
        return true;
    }
    return false;
}

static void *scrub_main(void *arg) {
    cs_scrubber *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval_s;
        while (!atomic_load(&s->stop))
            if (pthread_cond_timedwait(&s->cond, &s->mu, &until) != 0) break;
        pthread_mutex_unlock(&s->mu);
        if (atomic_load(&s->stop)) break;
        if (!lease_take(s, 60000)) continue; /* another gateway scrubs */
        s->lost = false;
        cs_audit_opts o = {.deep = true,
                           .repair = true,
                           .cancel = scrub_cancel,
                           .arg = s,
                           .pause_ms = s->pause_ms};
        cs_audit_stats st;
        cs_health *h = NULL;
        int64_t t0 = clock_real_ms();
        kerr rc = cs_audit(s->meta, s->vs, &o, &st, &h);
        cs_health_free(h);
        if (rc == K_OK) {
            pthread_mutex_lock(&s->mu);
            s->st.passes++;
            s->st.members_replaced += st.members_replaced;
            s->st.needles_copied += st.needles_copied;
            s->st.last_degraded = st.degraded;
            s->st.last_lost = st.lost;
            s->st.last_pass_ms = clock_real_ms();
            pthread_mutex_unlock(&s->mu);
        }
        if (rc == K_OK)
            log_info("scrub: %" PRIu64 " chunksets, %" PRIu64 " needles read in %lld ms: %" PRIu64
                     " degraded, %" PRIu64 " lost; %" PRIu64 " members replaced, %" PRIu64
                     " needles copied, %" PRIu64 " repairs failed",
                     st.chunksets, st.needles, (long long)(clock_real_ms() - t0), st.degraded,
                     st.lost, st.members_replaced, st.needles_copied, st.repairs_failed);
        else if (!atomic_load(&s->stop))
            log_warn("scrub: pass ended early: %s",
                     s->lost ? "another gateway holds the lease" : kerr_name(rc));
        /* let the others have it between passes */
        if (!s->lost) {
            kbuf cur = KBUF_INIT;
            if (kv_get(s->meta, LEASE_KEY, 2, &cur) == K_OK) {
                char mine[17];
                snprintf(mine, sizeof mine, "%016llx", (unsigned long long)s->holder);
                if (cur.len >= 16 && !memcmp(cur.data, mine, 16))
                    (void)kv_cas(s->meta, LEASE_KEY, 2, cur.data, cur.len, NULL, 0);
            }
            kbuf_free(&cur);
        }
    }
    return NULL;
}

kerr cs_scrub_start(kv *meta, volset *vs, unsigned interval_s, unsigned pause_ms,
                    cs_scrubber **out) {
    *out = NULL;
    if (!interval_s) return K_EINVAL;
    cs_scrubber *s = calloc(1, sizeof *s);
    if (!s) return K_ENOMEM;
    s->meta = meta;
    s->vs = vs;
    s->interval_s = interval_s;
    s->pause_ms = pause_ms;
    while (!s->holder)
        if (getrandom(&s->holder, sizeof s->holder, 0) != (ssize_t)sizeof s->holder)
            s->holder = (uint64_t)clock_mono_ns();
    atomic_init(&s->stop, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (pthread_create(&s->thread, NULL, scrub_main, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
        free(s);
        return K_ENOMEM;
    }
    *out = s;
    return K_OK;
}

void cs_scrub_stop(cs_scrubber *s) {
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    atomic_store(&s->stop, true);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cond);
    free(s);
}
