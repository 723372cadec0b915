using Apache.Arrow;
using ParquetSharp;
using ParquetSharp.Arrow;
using Sluice.IO.Output;

namespace Sluice.IO.Parquet;

/// <summary>
/// One Parquet part file: blocks go into buffered row groups of <see cref="ParquetSinkOptions.RowGroupRows"/>
/// rows, so a file of many small blocks still has few, large row groups. A row group is held (encoded) in
/// memory until it is closed, so it is also cut at <see cref="MaxRowGroupBytes"/> of Arrow data.
/// </summary>
internal sealed class ParquetPartWriter : PartWriter
{
    /// <summary>64 MiB: bounds what one open part holds in memory whatever the row width (384-float embeddings reach it at ~43k rows).</summary>
    internal const long MaxRowGroupBytes = 64L << 20;

    private readonly Stream _output;
    private readonly WriterProperties _properties;
    private readonly ArrowWriterProperties _arrowProperties;
    private readonly FileWriter _writer;
    private readonly int _rowGroupRows;
    private readonly double _packing;
    private long _groupRows;
    private long _groupBytes;
    private bool _inGroup;

    public ParquetPartWriter(Stream output, Schema schema, ParquetSinkOptions options, double packing)
    {
        _output = output;
        _rowGroupRows = options.RowGroupRows;
        _packing = packing;
        _properties = new WriterPropertiesBuilder()
            .Compression(Codec(options.Compression))
            .MaxRowGroupLength(options.RowGroupRows)
            .Build();
        _arrowProperties = new ArrowWriterPropertiesBuilder().StoreSchema().Build();
        _writer = new FileWriter(output, schema, _properties, _arrowProperties, leaveOpen: true);
    }

    // Bytes already in the file, plus the open row group's Arrow bytes scaled by how earlier parts packed.
    public override long EstimatedBytes => _output.Position + (long)(_groupBytes * _packing);

    public override void Append(RecordBatch batch)
    {
        if (!_inGroup || _groupRows >= _rowGroupRows || _groupBytes >= MaxRowGroupBytes)
        {
            _writer.NewBufferedRowGroup();
            _inGroup = true;
            _groupRows = 0;
            _groupBytes = 0;
        }
        _writer.WriteBufferedRecordBatch(batch);
        _groupRows += batch.Length;
        _groupBytes += Sluice.ArrowBatches.ByteSize(batch);
    }

    public override void Finish()
    {
        _writer.Close();
        _groupBytes = 0;
    }

    public override void Dispose()
    {
        _writer.Dispose();
        _arrowProperties.Dispose();
        _properties.Dispose();
        base.Dispose();
    }

    private static Compression Codec(ParquetCompression compression) => compression switch
    {
        ParquetCompression.Zstd => Compression.Zstd,
        ParquetCompression.Snappy => Compression.Snappy,
        ParquetCompression.None => Compression.Uncompressed,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "expected zstd, snappy or none"),
    };
}
