namespace Sluice.IO.ObjectStorage;

/// <summary>What a HEAD of an object says, and whether the cache already holds this version of it.</summary>
/// <param name="Url">The object's URL.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="ETag">Its entity tag, when the server gives one (S3 always does).</param>
/// <param name="CachedPath">The local copy when the cache holds this version (same size and ETag); null when a fetch would download it.</param>
public sealed record ObjectInfo(Uri Url, long Length, string? ETag, string? CachedPath);
