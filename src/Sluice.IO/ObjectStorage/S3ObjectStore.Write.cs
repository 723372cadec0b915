using System.Net;
using Amazon.Runtime;
using Amazon.S3.Model;

namespace Sluice.IO.ObjectStorage;

/// <summary>What an output needs of S3 beyond reading: whole-object uploads, deletes, and what a HEAD says of an object.</summary>
internal sealed partial class S3ObjectStore
{
    /// <summary>The user metadata that carries a part's SHA-256, so a resume checks it without reading the object back.</summary>
    internal const string Sha256Metadata = "sluice-sha256";

    /// <summary>Files above this go up in parts of this size: S3 takes one PUT up to 5 GiB, but a failed piece costs less to send again.</summary>
    internal const long MultipartPartSize = 16L << 20;

    /// <summary>
    /// Uploads <paramref name="file"/> to <paramref name="key"/>: one PUT, or a multipart upload above
    /// <see cref="MultipartPartSize"/>; either way S3 shows the object only once it is whole. Bodies are sent plainly
    /// (not aws-chunked, which S3-compatible servers such as s3rver store verbatim), signed with their SHA-256.
    /// </summary>
    public async Task UploadAsync(string bucket, string key, string file, string? sha256, CancellationToken cancellationToken)
    {
        try
        {
            var length = new FileInfo(file).Length;
            if (length <= MultipartPartSize)
            {
                var put = new PutObjectRequest { BucketName = bucket, Key = key, FilePath = file, UseChunkEncoding = false };
                if (sha256 is not null) put.Metadata.Add(Sha256Metadata, sha256);
                await _client.PutObjectAsync(put, cancellationToken).ConfigureAwait(false);
                return;
            }
            await UploadInPartsAsync(bucket, key, file, length, sha256, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException || TimedOut(e, cancellationToken))
        {
            throw Explain(UrlOf(bucket, key), e);
        }
    }

    private async Task UploadInPartsAsync(string bucket, string key, string file, long length, string? sha256, CancellationToken cancellationToken)
    {
        var start = new InitiateMultipartUploadRequest { BucketName = bucket, Key = key };
        if (sha256 is not null) start.Metadata.Add(Sha256Metadata, sha256);
        var upload = await _client.InitiateMultipartUploadAsync(start, cancellationToken).ConfigureAwait(false);
        try
        {
            var parts = new List<PartETag>();
            for (var (number, position) = (1, 0L); position < length; number++, position += MultipartPartSize)
            {
                var size = Math.Min(MultipartPartSize, length - position);
                var part = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = bucket, Key = key, UploadId = upload.UploadId, PartNumber = number,
                    FilePath = file, FilePosition = position, PartSize = size, IsLastPart = position + size >= length, UseChunkEncoding = false,
                }, cancellationToken).ConfigureAwait(false);
                parts.Add(new PartETag(number, part.ETag));
            }
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = parts }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // An unfinished upload is invisible but billed: abort it (best effort; a lifecycle rule catches the rest).
            try
            {
                await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId }, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
            {
                // The upload's own error is the one to report.
            }
            throw;
        }
    }

    /// <summary>Deletes the object; one that is not there is no error.</summary>
    public async Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // Already gone.
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException || TimedOut(e, cancellationToken))
        {
            throw Explain(UrlOf(bucket, key), e);
        }
    }

    /// <summary>The object's size, recorded SHA-256 (null when it has none) and when the server last wrote it; null when there is no such object.</summary>
    public async Task<(long Length, string? Sha256, DateTime LastModifiedUtc)?> HeadMetadataAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            var sha = head.Metadata.Keys.Contains($"x-amz-meta-{Sha256Metadata}") ? head.Metadata[Sha256Metadata] : null;
            return (head.ContentLength, sha, head.LastModified?.ToUniversalTime() ?? DateTime.UnixEpoch);
        }
        catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException || TimedOut(e, cancellationToken))
        {
            throw Explain(UrlOf(bucket, key), e);
        }
    }

    /// <summary>Downloads the object into <paramref name="file"/> (replacing it when whole); returns when the server last changed it, or null when there is no such object.</summary>
    public async Task<DateTime?> TryDownloadAsync(string bucket, string key, string file, CancellationToken cancellationToken)
    {
        var tmp = $"{file}.{Guid.NewGuid():N}.tmp";
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            await using (stream.ConfigureAwait(false))
                await response.ResponseStream.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            File.Move(tmp, file, overwrite: true);
            return response.LastModified?.ToUniversalTime() ?? DateTime.UtcNow;
        }
        catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException || TimedOut(e, cancellationToken))
        {
            throw Explain(UrlOf(bucket, key), e);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    private static Uri UrlOf(string bucket, string key) => new($"s3://{bucket}/{key}");

    /// <summary>An HTTP timeout, which the SDK reports as a cancellation nobody asked for.</summary>
    private static bool TimedOut(Exception e, CancellationToken cancellationToken) => e is OperationCanceledException && !cancellationToken.IsCancellationRequested;
}
