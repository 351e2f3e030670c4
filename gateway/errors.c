/* SPDX-License-Identifier: Apache-2.0 */
#include "gateway/errors.h"

static const kerr_info table[K__COUNT] = {
    [K_OK] = {200, "OK", "OK", 200},
    [K_EINTERNAL] = {500, "InternalError", "We encountered an internal error. Please try again.",
                     500},
    [K_EIO] = {500, "InternalError", "An I/O error occurred while handling the request.", 500},
    [K_EUNAVAILABLE] = {503, "ServiceUnavailable",
                        "The metadata or storage backend is unavailable; retry later.", 503},
    [K_ENOMEM] = {503, "SlowDown", "Please reduce your request rate.", 503},
    /* Not an AWS error (S3 never fills up); MinIO answers 507 XMinioStorageFull.
     * 507 is outside the 500/502/503/504 SDKs retry, so clients fail at once
     * instead of backing off as if throttled. */
    [K_ENOSPC] = {507, "InsufficientStorage",
                  "The storage backend has reached its minimum free space; writes are refused "
                  "until an operator frees space.",
                  507},
    [K_EINVAL] = {400, "InvalidArgument", "Invalid argument.", 400},
    [K_ENOTIMPL] = {501, "NotImplemented",
                    "A header or query you provided implies functionality that is not implemented.",
                    501},
    [K_ECONFLICT] = {409, "OperationAborted",
                     "A conflicting conditional operation is in progress. Please try again.", 409},
    [K_ENOTFOUND] = {404, "NoSuchKey", "The specified key does not exist.", 404},
    [K_ECORRUPT] = {500, "InternalError", "Stored data failed its integrity check.", 500},
    [K_ETOOLARGE] = {400, "EntityTooLarge",
                     "Your proposed upload exceeds the maximum allowed object size.", 413},
    [K_ENOSUCHBUCKET] = {404, "NoSuchBucket", "The specified bucket does not exist.", 404},
    [K_EBUCKETEXISTS] = {409, "BucketAlreadyExists",
                         "The requested bucket name is not available. The bucket namespace is "
                         "shared by all users of the system. Please select a different name and "
                         "try again.",
                         /* Swift has no shared namespace to answer from: a
                          * container name another account holds is a conflict
                          * (never a 202 that claims it is the caller's) */
                         409},
    [K_EBUCKETOWNED] = {409, "BucketAlreadyOwnedByYou",
                        "Your previous request to create the named bucket succeeded and you "
                        "already own it.",
                        202},
    [K_EBUCKETNOTEMPTY] = {409, "BucketNotEmpty", "The bucket you tried to delete is not empty.",
                           409},
    [K_EINVALIDBUCKETNAME] = {400, "InvalidBucketName", "The specified bucket is not valid.", 400},
    [K_ENOSUCHKEY] = {404, "NoSuchKey", "The specified key does not exist.", 404},
    [K_EKEYTOOLONG] = {400, "KeyTooLongError", "Your key is too long.", 400},
    [K_EBADDIGEST] = {400, "BadDigest",
                      "The Content-MD5 or checksum you specified did not match what we received.",
                      422},
    [K_EINVALIDDIGEST] = {400, "InvalidDigest",
                          "The Content-MD5 or checksum you specified is not valid.", 400},
    [K_EINCOMPLETEBODY] = {400, "IncompleteBody",
                           "You did not provide the number of bytes specified by the "
                           "Content-Length HTTP header.",
                           499},
    [K_EPRECONDITION] = {412, "PreconditionFailed",
                         "At least one of the preconditions you specified did not hold.", 412},
    [K_ENOTMODIFIED] = {304, "NotModified", "Not Modified", 304},
    [K_EINVALIDRANGE] = {416, "InvalidRange", "The requested range is not satisfiable", 416},
    [K_EENTITYTOOSMALL] = {400, "EntityTooSmall",
                           "Your proposed upload is smaller than the minimum allowed object size.",
                           400},
    [K_EENTITYTOOLARGE] = {400, "EntityTooLarge",
                           "Your proposed upload exceeds the maximum allowed object size.", 413},
    [K_ENOSUCHUPLOAD] = {404, "NoSuchUpload",
                         "The specified multipart upload does not exist. The upload ID might be "
                         "invalid, or the multipart upload might have been aborted or completed.",
                         404},
    [K_EINVALIDPART] = {400, "InvalidPart",
                        "One or more of the specified parts could not be found. The part might "
                        "not have been uploaded, or the specified entity tag might not have "
                        "matched the part's entity tag.",
                        400},
    [K_EINVALIDPARTORDER] = {400, "InvalidPartOrder",
                             "The list of parts was not in ascending order. Parts list must be "
                             "specified in order by part number.",
                             400},
    [K_EMALFORMEDXML] = {400, "MalformedXML",
                         "The XML you provided was not well-formed or did not validate against "
                         "our published schema.",
                         400},
    [K_EINVALIDREQUEST] = {400, "InvalidRequest", "Invalid Request", 400},
    [K_EMETHODNOTALLOWED] = {405, "MethodNotAllowed",
                             "The specified method is not allowed against this resource.", 405},
    [K_EMISSINGLENGTH] = {411, "MissingContentLength",
                          "You must provide the Content-Length HTTP header.", 411},
    [K_EBADFRAMING] = {400, "InvalidRequest",
                       "The request's length is ambiguous: Content-Length together with "
                       "Transfer-Encoding, differing Content-Length values, a Transfer-Encoding "
                       "other than chunked, or whitespace in a header name.",
                       400},
    [K_ETOOMANYPARAMS] = {400, "InvalidArgument",
                          "Too many query parameters (at most 1000 are accepted).", 400},
    [K_EACCESSDENIED] = {403, "AccessDenied", "Access Denied", 403},
    [K_EINVALIDACCESSKEY] = {403, "InvalidAccessKeyId",
                             "The AWS Access Key Id you provided does not exist in our records.",
                             401},
    [K_ESIGNATURE] = {403, "SignatureDoesNotMatch",
                      "The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.",
                      401},
    [K_ETIMESKEW] = {403, "RequestTimeTooSkewed",
                     "The difference between the request time and the current time is too large.",
                     401},
    [K_EEXPIRED] = {403, "AccessDenied", "Request has expired", 401},
    [K_ENOTYETVALID] = {403, "AccessDenied", "Request is not yet valid", 401},
    [K_EAUTHHEADER] = {400, "AuthorizationHeaderMalformed",
                       "The authorization header or query parameters are malformed.", 401},
    [K_EAUTHQUERY] = {400, "AuthorizationQueryParametersError",
                      "Query-string authentication version 4 requires the X-Amz-Algorithm "
                      "(AWS4-HMAC-SHA256), X-Amz-Credential (with the request's date and service "
                      "s3), X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires "
                      "(1 to 604800 seconds) parameters.",
                      401},
    [K_EXAMZCONTENTSHA] = {400, "XAmzContentSHA256Mismatch",
                           "The provided 'x-amz-content-sha256' header does not match what was "
                           "computed.",
                           422},
    [K_EHEADERSNOTSIGNED] = {403, "AccessDenied",
                             "There were headers present in the request which were not signed",
                             403},
    [K_EWRONGREGION] = {400, "AuthorizationHeaderMalformed",
                        "The authorization header is malformed; the region is wrong.", 400},
    [K_EWRONGREGIONQUERY] = {400, "AuthorizationQueryParametersError",
                             "Error parsing the X-Amz-Credential parameter; the region is wrong.",
                             400},
    [K_EMISSINGCONTENTSHA] = {400, "InvalidRequest",
                              "Missing required header for this request: x-amz-content-sha256",
                              400},
    [K_EANONRESPONSEHEADER] = {400, "InvalidRequest",
                               "Request specific response headers cannot be used for anonymous "
                               "GET requests.",
                               400},
    [K_ECONDCONFLICT] = {409, "ConditionalRequestConflict",
                         "A conflicting operation occurred while the conditional write was in "
                         "progress. Retry the request (a multipart upload: upload it again).",
                         409},
    [K_EMETADATATOOLARGE] = {400, "MetadataTooLarge",
                             "Your metadata headers exceed the maximum allowed metadata size", 400},
    [K_EINVALIDPARTNUMBER] = {416, "InvalidPartNumber",
                              "The requested partnumber is not satisfiable", 416},
    [K_EINVALIDURI] = {400, "InvalidURI", "Couldn't parse the specified URI.", 400},
    [K_EUNEXPECTEDCONTENT] = {400, "UnexpectedContent", "This request does not support content",
                              400},
    [K_EMALFORMEDACL] = {400, "MalformedACLError",
                         "The XML you provided was not well-formed or did not validate against our "
                         "published schema",
                         400},
    [K_EINVALIDSTORAGECLASS] = {400, "InvalidStorageClass",
                                "The storage class you specified is not valid", 400},
    [K_EINVALIDLOCATION] = {400, "InvalidLocationConstraint",
                            "The specified location-constraint is not valid", 400},
    [K_ENOSUCHBUCKETPOLICY] = {404, "NoSuchBucketPolicy", "The bucket policy does not exist", 404},
    [K_ENOSUCHCORS] = {404, "NoSuchCORSConfiguration", "The CORS configuration does not exist",
                       404},
    [K_ENOSUCHLIFECYCLE] = {404, "NoSuchLifecycleConfiguration",
                            "The lifecycle configuration does not exist", 404},
    [K_ENOSUCHTAGSET] = {404, "NoSuchTagSet", "The TagSet does not exist", 404},
    [K_ENOSUCHWEBSITE] = {404, "NoSuchWebsiteConfiguration",
                          "The specified bucket does not have a website configuration", 404},
    [K_ENOSSECONFIG] = {404, "ServerSideEncryptionConfigurationNotFoundError",
                        "The server side encryption configuration was not found", 404},
    [K_ENOLOCKCONFIG] = {404, "ObjectLockConfigurationNotFoundError",
                         "Object Lock configuration does not exist for this bucket", 404},
    [K_ENOREPLICATION] = {404, "ReplicationConfigurationNotFoundError",
                          "The replication configuration was not found", 404},
    [K_ENOOWNERSHIPCONTROLS] = {404, "OwnershipControlsNotFoundError",
                                "The bucket ownership controls were not found", 404},
    [K_ENOPUBLICACCESSBLOCK] = {404, "NoSuchPublicAccessBlockConfiguration",
                                "The public access block configuration was not found", 404},
    [K_EINVALIDTAG] = {400, "InvalidTag", "The TagKey you have provided is invalid", 400},
    [K_ETOOMANYTAGS] = {400, "BadRequest", "Object tags cannot be greater than 10", 400},
    [K_ENOAUTH] = {403, "AccessDenied", "Access Denied", 401},
};

const kerr_info *kerr_lookup(kerr e) {
    if ((unsigned)e >= K__COUNT || !table[e].s3_code) return &table[K_EINTERNAL];
    return &table[e];
}
