using Apache.Arrow;

namespace Sluice.IO.Output;

/// <summary>
/// One part file being filled, in a format: batches are encoded as they arrive (so an open part holds
/// encoded bytes, not the blocks), and <see cref="Finish"/> writes what is still buffered and the footer.
/// The stream belongs to the caller, who fsyncs, checksums and renames it.
/// </summary>
internal abstract class PartWriter : IDisposable
{
    /// <summary>Encodes <paramref name="batch"/> into the file.</summary>
    public abstract void Append(RecordBatch batch);

    /// <summary>About how many bytes the file holds so far, what the format still buffers included (estimated).</summary>
    public abstract long EstimatedBytes { get; }

    /// <summary>Writes what is buffered and the format's footer; the file is then complete.</summary>
    public abstract void Finish();

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
