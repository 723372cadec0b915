using System.Runtime.CompilerServices;
using Apache.Arrow;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Parquet;

/// <summary>Parquet files through ParquetSharp's Arrow API: one read task per (file, row group).</summary>
internal sealed class ParquetDatasource(string path) : Datasource
{
    private IReadOnlyList<string>? _files;

    public override string Name => $"parquet({path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(path, _files ?? FileLister.Expand(path, "Parquet", compressed: false));

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var tasks = new List<ReadTask>();
        var files = FileLister.Expand(path, "Parquet", compressed: false);
        _files = files;
        foreach (var file in files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rowGroups = Open(file, r => r.NumRowGroups);
            for (var rg = 0; rg < rowGroups; rg++) tasks.Add(new RowGroupTask(file, rg));
        }
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    /// <summary>Rows and row groups from each file's footer: exact, and no data pages are read.</summary>
    public override SourceEstimate? Estimate()
    {
        var files = FileLister.Expand(path, "Parquet", compressed: false);
        long bytes = 0, rows = 0;
        var groups = 0;
        foreach (var file in files)
        {
            bytes += new FileInfo(file).Length;
            (rows, groups) = Open(file, r => (rows + r.ParquetReader.FileMetaData.NumRows, groups + r.NumRowGroups));
        }
        return new SourceEstimate(bytes, rows, groups,
            $"one read task per row group ({groups} in {files.Count} file{(files.Count == 1 ? "" : "s")})");
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken)
    {
        var first = FileLister.Expand(path, "Parquet", compressed: false)[0];
        return ValueTask.FromResult<Schema?>(Open(first, r => r.Schema));
    }

    private static T Open<T>(string file, Func<ParquetSharp.Arrow.FileReader, T> read)
    {
        try
        {
            using var reader = new ParquetSharp.Arrow.FileReader(file);
            return read(reader);
        }
        catch (ParquetSharp.ParquetException e)
        {
            throw new BadInputException($"'{file}' is not a readable Parquet file ({e.Message}); expected a Parquet file", e);
        }
    }

    private sealed class RowGroupTask(string file, int rowGroup) : ReadTask
    {
        public override string Id => $"{file}#rg{rowGroup}";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
            cancellationToken.ThrowIfCancellationRequested();
            using var arrowProperties = ParquetSharp.Arrow.ArrowReaderProperties.GetDefault();
            arrowProperties.BatchSize = blockRows;
            using var reader = new ParquetSharp.Arrow.FileReader(file, arrowProperties: arrowProperties);
            using var batches = reader.GetRecordBatchReader(rowGroups: [rowGroup]);
            while (await batches.ReadNextRecordBatchAsync(cancellationToken).ConfigureAwait(false) is { } batch)
            {
                // The reader's batch size is a hint; slice so no block exceeds blockRows.
                foreach (var slice in ArrowBatches.Split(batch, blockRows))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return slice;
                }
            }
        }
    }
}
