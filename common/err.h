/* SPDX-License-Identifier: Apache-2.0 */
/* Internal error codes shared by every layer.
 *
 * Lower layers return these (0 = success, never negative errno). The gateway
 * owns the single table (gateway/errors.c) that maps each code to an S3 error
 * (HTTP status, Code, Message) and a Swift status. Add a code here only
 * together with its row in that table and its name in err.c (unit tests
 * check both are complete).
 */
#ifndef KURA_COMMON_ERR_H
#define KURA_COMMON_ERR_H

typedef enum kerr {
    K_OK = 0,
    /* generic */
    K_EINTERNAL,    /* bug or unexpected condition: 500 */
    K_EIO,          /* disk or backend I/O failed: 500 */
    K_EUNAVAILABLE, /* metadata or storage backend unreachable: 503 */
    K_ENOMEM,       /* resource exhausted (memory, descriptors): 503 SlowDown */
    K_ENOSPC,       /* storage full: no room above the free-space reserve, ENOSPC,
                       EDQUOT, LMDB map full: 507 InsufficientStorage */
    K_EINVAL,       /* malformed input: 400 InvalidArgument */
    K_ENOTIMPL,     /* operation kura does not do: 501 */
    K_ECONFLICT,    /* compare-and-set lost; callers normally retry */
    K_ENOTFOUND,    /* generic key absent (kv layer) */
    K_ECORRUPT,     /* stored data failed its checksum: 500 */
    K_ETOOLARGE,    /* value or entity exceeds a limit */
    /* buckets */
    K_ENOSUCHBUCKET,
    K_EBUCKETEXISTS, /* owned by another user */
    K_EBUCKETOWNED,  /* already owned by the caller */
    K_EBUCKETNOTEMPTY,
    K_EINVALIDBUCKETNAME,
    /* objects */
    K_ENOSUCHKEY,
    K_EKEYTOOLONG,
    K_EBADDIGEST,      /* Content-MD5 or checksum mismatch */
    K_EINVALIDDIGEST,  /* digest header malformed */
    K_EINCOMPLETEBODY, /* fewer bytes than declared */
    K_EPRECONDITION,   /* If-Match / If-Unmodified-Since failed: 412 */
    K_ENOTMODIFIED,    /* If-None-Match / If-Modified-Since: 304 */
    K_EINVALIDRANGE,   /* 416 */
    K_EENTITYTOOSMALL, /* multipart part below 5 MiB */
    K_EENTITYTOOLARGE,
    K_ENOSUCHUPLOAD,
    K_EINVALIDPART,
    K_EINVALIDPARTORDER,
    K_EMALFORMEDXML,
    K_EINVALIDREQUEST, /* 400 InvalidRequest */
    K_EMETHODNOTALLOWED,
    K_EMISSINGLENGTH, /* 411 */
    K_EBADFRAMING,    /* ambiguous message framing (request smuggling): 400 */
    K_ETOOMANYPARAMS, /* more query parameters than the server takes: 400 */
    /* auth */
    K_EACCESSDENIED,
    K_EINVALIDACCESSKEY,
    K_ESIGNATURE,          /* SignatureDoesNotMatch */
    K_ETIMESKEW,           /* RequestTimeTooSkewed */
    K_EEXPIRED,            /* presigned URL expired */
    K_ENOTYETVALID,        /* presigned URL dated more than 15 minutes ahead */
    K_EAUTHHEADER,         /* AuthorizationHeaderMalformed; bad SigV2 query auth */
    K_EAUTHQUERY,          /* malformed SigV4 presigned-URL (X-Amz-*) parameters */
    K_EXAMZCONTENTSHA,     /* XAmzContentSHA256Mismatch */
    K_EHEADERSNOTSIGNED,   /* x-amz-* header or host outside SignedHeaders: 403 */
    K_EWRONGREGION,        /* scope region is not the server's (Authorization header) */
    K_EWRONGREGIONQUERY,   /* the same in a presigned URL's X-Amz-Credential */
    K_EMISSINGCONTENTSHA,  /* SigV4 header auth without x-amz-content-sha256 */
    K_EANONRESPONSEHEADER, /* response-* overrides on an anonymous GET */
    K_ECONDCONFLICT,       /* a conditional write's condition stopped holding
                              before it committed: 409 */
    K_EMETADATATOOLARGE,   /* user metadata over 2 KiB */
    K_EINVALIDPARTNUMBER,  /* GET ?partNumber beyond the parts */
    K_EINVALIDURI,         /* bad percent-encoding */
    K_EUNEXPECTEDCONTENT,  /* a body where none is allowed */
    K_EMALFORMEDACL,       /* ACL document */
    K_EINVALIDSTORAGECLASS,
    K_EINVALIDLOCATION,
    K_ENOSUCHBUCKETPOLICY, /* bucket sub-resources kura never stores: */
    K_ENOSUCHCORS,
    K_ENOSUCHLIFECYCLE,
    K_ENOSUCHTAGSET,
    K_ENOSUCHWEBSITE,
    K_ENOSSECONFIG,
    K_ENOLOCKCONFIG,
    K_ENOREPLICATION,
    K_ENOOWNERSHIPCONTROLS,
    K_ENOPUBLICACCESSBLOCK,
    K_EINVALIDTAG,  /* a tag key or value S3 refuses: 400 InvalidTag */
    K_ETOOMANYTAGS, /* more tags than an object (10) or bucket (50) takes: 400 BadRequest */
    K_ENOAUTH,      /* no valid credentials: Swift 401 Unauthorized (S3 callers get AccessDenied) */
    K__COUNT
} kerr;

/* The code's name without the K_ prefix ("EIO", "ENOSUCHKEY"), for logs and
 * messages; "UNKNOWN" for a value that is not a code. Static storage. */
const char *kerr_name(kerr e);

#endif
