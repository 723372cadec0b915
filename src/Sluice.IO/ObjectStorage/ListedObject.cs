namespace Sluice.IO.ObjectStorage;

/// <summary>One object a listing found: its URL, key, size, ETag and last modification (UTC).</summary>
internal sealed record ListedObject(Uri Url, string Key, long Length, string? ETag, DateTime LastModifiedUtc);
