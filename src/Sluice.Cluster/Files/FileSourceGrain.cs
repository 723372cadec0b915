using Sluice.Cluster.Hosting;
using Sluice.Cluster.Placement;

namespace Sluice.Cluster.Files;

/// <summary>
/// Serves the driver's job files to the workers' caches, in chunks of <see cref="ClusterNode.ChunkBytes"/> (far below
/// the message limit, as blocks). Only hashes the job registered are read: a caller cannot name a path, so nothing
/// else on the driver's disk can be asked for.
/// </summary>
[NodePlacement]
[CollectionAgeLimit(AlwaysActive = true)]
internal sealed class FileSourceGrain(ClusterNode node) : Grain, IFileSourceGrain
{
    public async Task<FileChunk> ReadAsync(string sha256, long offset)
    {
        if (!node.Sources.TryGet(sha256, out var file)) return FileChunk.NotServed;
        if (offset < 0 || offset > file.Length) throw new ArgumentOutOfRangeException(nameof(offset), $"offset {offset} is outside file {sha256} ({file.Length} bytes)");
        var buffer = new byte[(int)Math.Min(node.ChunkBytes, file.Length - offset)];
        var filled = 0;
        using (var handle = File.OpenHandle(file.Path))
        {
            // A file cut short since it was hashed gives fewer bytes: the worker's length and hash checks refuse it.
            while (filled < buffer.Length)
            {
                var n = await RandomAccess.ReadAsync(handle, buffer.AsMemory(filled), offset + filled);
                if (n == 0) break;
                filled += n;
            }
        }
        return new FileChunk(true, filled == buffer.Length ? buffer : buffer[..filled], file.Length);
    }

    public Task<long> BytesFetchedAsync() => Task.FromResult(node.Files.BytesFetched);
}
