#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Classify the request log of harness.py's recording proxy into S3
operations and count them: one 'Operation N' line each, then 'BAD <line>'
for every 5xx answer or proxy error.

usage: s3calls.py LOG
"""
import collections
import re
import sys


def classify(method, path, status, extra):
    q = set(k.split("=")[0] for k in path.partition("?")[2].split("&") if k)
    copy = "x-amz-copy-source=" in extra
    if method == "PUT" and "partNumber" in q:
        return "UploadPartCopy" if copy else "UploadPart"
    if method == "PUT":
        return "CopyObject" if copy else "PutObject"
    if method == "POST" and "uploads" in q:
        return "CreateMultipartUpload"
    if method == "POST" and "uploadId" in q:
        return "CompleteMultipartUpload"
    if method == "POST" and "delete" in q:
        return "DeleteObjects"
    if method == "GET" and "uploads" in q:
        return "ListMultipartUploads"
    if method == "GET" and "uploadId" in q:
        return "ListParts"
    if method == "GET" and "list-type" in q:
        return "ListObjectsV2"
    if method == "GET" and "X-Amz-Signature" in q:
        return "GetObject(presigned)"
    if method == "GET" and re.search(r"range=bytes=\d+-(\s|$)", extra):
        return "GetObject(bytes=N-)"
    if method == "GET" and "range=" in extra:
        return "GetObject(range)"
    if method == "GET" and path.rstrip("/").count("/") <= 1 and not q:
        return "ListObjects/ListBuckets"
    if method == "GET":
        return "GetObject"
    if method == "HEAD":
        return "HeadObject-" + status
    if method == "DELETE" and "uploadId" in q:
        return "AbortMultipartUpload"
    if method == "DELETE":
        return "DeleteObject"
    return method


def main():
    counts = collections.Counter()
    bad = []
    for line in open(sys.argv[1]):
        parts = line.rstrip("\n").split(" ", 3)
        if len(parts) < 3:
            continue
        method, path, status = parts[:3]
        extra = parts[3] if len(parts) > 3 else ""
        if not status.isdigit() or int(status) >= 500:
            bad.append(line.strip())
        counts[classify(method, path, status, extra)] += 1
    for k in sorted(counts):
        print("%s %d" % (k, counts[k]))
    for b in bad:
        print("BAD " + b)


if __name__ == "__main__":
    main()
