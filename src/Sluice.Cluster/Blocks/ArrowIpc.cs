using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace Sluice.Cluster.Blocks;

/// <summary>A record batch as one Arrow IPC stream (schema + batch) and back: what crosses between nodes.</summary>
internal static class ArrowIpc
{
    public static byte[] Serialize(RecordBatch batch)
    {
        using var stream = new MemoryStream();
        using (var writer = new ArrowStreamWriter(stream, batch.Schema, leaveOpen: true))
        {
            writer.WriteRecordBatch(batch);
            writer.WriteEnd();
        }
        return stream.ToArray();
    }

    public static RecordBatch Deserialize(byte[] bytes)
    {
        using var reader = new ArrowStreamReader(new MemoryStream(bytes, writable: false));
        var batch = reader.ReadNextRecordBatch() ?? throw new InvalidDataException("the Arrow IPC stream holds no record batch");
        return batch;
    }
}
