using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Sluice.IO.ObjectStorage;

/// <summary><c>s3://bucket/key</c> through the AWS SDK: credentials from its default chain, an endpoint override path-style.</summary>
/// <param name="retries">
/// Retries of a failed request. Reads default to 2: a job should fail within seconds when the store is down, not after the
/// SDK's long default back-off. An output's writes pass more (<see cref="WriteRetries"/>): a burst of 503 SlowDown must
/// not end a long job.
/// </param>
internal sealed partial class S3ObjectStore(ObjectFileOptions options, int retries = 2) : IObjectStore
{
    /// <summary>Retries of an output's requests, with the SDK's adaptive back-off.</summary>
    internal const int WriteRetries = 8;

    private readonly AmazonS3Client _client = new(Config(options, retries));

    private static AmazonS3Config Config(ObjectFileOptions options, int retries)
    {
        var config = new AmazonS3Config
        {
            MaxErrorRetry = retries,
            RetryMode = retries > 2 ? RequestRetryMode.Adaptive : RequestRetryMode.Standard,
        };
        if (options.S3Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = options.Region;
            // MinIO, s3rver and most self-hosted servers have no DNS per bucket: ENDPOINT/bucket/key.
            config.ForcePathStyle = true;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        return config;
    }

    public async Task<RemoteObject> HeadAsync(Uri url, CancellationToken cancellationToken)
    {
        var (bucket, key) = Split(url);
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new RemoteObject(head.ContentLength, head.ETag);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Explain(url, e);
        }
    }

    public async Task<RemoteObject> GetAsync(Uri url, Stream stream, CancellationToken cancellationToken)
    {
        var (bucket, key) = Split(url);
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            await response.ResponseStream.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
            return new RemoteObject(response.ContentLength, response.ETag);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Explain(url, e);
        }
    }

    /// <summary>
    /// The objects directly under <paramref name="prefix"/> (a "folder": keys with no further '/'), as a local directory
    /// listing would give them; sorted by key.
    /// </summary>
    public async Task<IReadOnlyList<ListedObject>> ListAsync(string bucket, string prefix, CancellationToken cancellationToken)
    {
        var listed = new List<ListedObject>();
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, Delimiter = "/" };
        try
        {
            ListObjectsV2Response response;
            do
            {
                response = await _client.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
                foreach (var o in response.S3Objects ?? [])
                    listed.Add(new ListedObject(new Uri($"s3://{bucket}/{Uri.EscapeDataString(o.Key).Replace("%2F", "/", StringComparison.Ordinal)}"), o.Key, o.Size ?? 0, o.ETag, o.LastModified?.ToUniversalTime() ?? DateTime.UnixEpoch));
                request.ContinuationToken = response.NextContinuationToken;
            }
            while (response.IsTruncated == true);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException)
        {
            throw Explain(new Uri($"s3://{bucket}/{prefix}"), e);
        }
        listed.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return listed;
    }

    /// <summary>The object's bytes into <paramref name="stream"/>, only while its ETag is still <paramref name="etag"/>.</summary>
    public async Task GetIfMatchAsync(Uri url, string? etag, Stream stream, CancellationToken cancellationToken)
    {
        var (bucket, key) = Split(url);
        try
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, EtagToMatch = etag }, cancellationToken).ConfigureAwait(false);
            await response.ResponseStream.CopyToAsync(stream, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonServiceException e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            throw new ObjectFileException($"{ObjectFiles.Display(url)}: the object changed after the job listed it (its ETag is no longer {etag}); run the job again on a stable input", e);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            throw Explain(url, e);
        }
    }

    /// <summary>The bucket (the URL's host) and the key (its path, unescaped, without the leading slash).</summary>
    internal static (string Bucket, string Key) Split(Uri url) => (url.Host, Uri.UnescapeDataString(url.AbsolutePath.TrimStart('/')));

    internal static ObjectFileException Explain(Uri url, Exception e)
    {
        var status = (e as AmazonServiceException)?.StatusCode;
        var what = status switch
        {
            HttpStatusCode.NotFound => "no such object (or no such bucket)",
            HttpStatusCode.Forbidden => "access denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and that they may read this bucket)",
            HttpStatusCode.MovedPermanently or HttpStatusCode.Redirect =>
                "the bucket is in another region: set AWS_REGION to the bucket's region",
            not null => $"the server answered {(int)status} {(e as AmazonServiceException)?.ErrorCode}: {e.Message}",
            _ when e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
                "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile)",
            _ => $"the S3 server could not be reached ({Innermost(e).Message}); check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL and the network",
        };
        return new ObjectFileException($"{ObjectFiles.Display(url)}: {what}", e);
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;

    public void Dispose() => _client.Dispose();
}
