namespace Sluice.IO.ObjectStorage;

/// <summary>What a server says an object is: its size and entity tag, each when it says so.</summary>
internal sealed record RemoteObject(long? Length, string? ETag);

/// <summary>One kind of object server (S3, HTTPS). Errors are <see cref="ObjectFileException"/>s that name the URL.</summary>
internal interface IObjectStore : IDisposable
{
    /// <summary>The object's size and tag, without its bytes.</summary>
    Task<RemoteObject> HeadAsync(Uri url, CancellationToken cancellationToken);

    /// <summary>Writes the object's bytes into <paramref name="stream"/>; returns what the GET said of the version it sent.</summary>
    Task<RemoteObject> GetAsync(Uri url, Stream stream, CancellationToken cancellationToken);
}
