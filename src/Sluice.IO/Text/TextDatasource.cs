using System.Runtime.CompilerServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Text;

/// <summary>Text files, one row per line in a string column <c>text</c>; one read task per file.</summary>
internal sealed class TextDatasource(string path, bool skipEmpty) : Datasource
{
    private static readonly Schema TextSchema = new([new Field("text", StringType.Default, nullable: false)], null);

    // Invalid UTF-8 is replaced with U+FFFD rather than failing the job: text is read as-is.
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private IReadOnlyList<string>? _files;

    public override string Name => $"text({path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(path, _files ?? FileLister.Expand(path, "text"));

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = FileLister.Expand(path, "text");
        _files = files;
        var tasks = files.Select(f => (ReadTask)new FileTask(f, skipEmpty)).ToList();
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(TextSchema);

    private sealed class FileTask(string file, bool skipEmpty) : ReadTask
    {
        public override string Id => file;

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(blockRows, 1);
            using var reader = new StreamReader(file, Utf8, detectEncodingFromByteOrderMarks: true);
            var builder = new StringArray.Builder();
            var count = 0;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (skipEmpty && line.Length == 0) continue;
                builder.Append(line);
                if (++count == blockRows)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    yield return new RecordBatch(TextSchema, [builder.Build()], count);
                    builder = new StringArray.Builder();
                    count = 0;
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (count > 0) yield return new RecordBatch(TextSchema, [builder.Build()], count);
        }
    }
}
