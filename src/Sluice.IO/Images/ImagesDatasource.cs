using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.IO.Files;

namespace Sluice.IO.Images;

/// <summary>
/// Image files (JPEG, PNG, WebP, and whatever else SkiaSharp decodes), one row per file: <c>path</c>, <c>size</c> (bytes),
/// <c>width</c> and <c>height</c> (from the header, as displayed: EXIF rotation applied), and <c>image</c>, the encoded
/// bytes. Pixels are decoded later by the <c>image_preprocess</c> op, on actors: decoding is the costly part and scales
/// with the pool, and encoded JPEGs are ~10x smaller than pixels in the queues between stages.
/// Read tasks are runs of <see cref="ImagesOptions.FilesPerTask"/> files in sorted order.
/// </summary>
internal sealed class ImagesDatasource : Datasource
{
    public const string Format = "image";

    internal static readonly Schema ImagesSchema = new(
    [
        new Field("path", StringType.Default, nullable: false),
        new Field("size", Int64Type.Default, nullable: false),
        new Field("width", Int32Type.Default, nullable: false),
        new Field("height", Int32Type.Default, nullable: false),
        new Field("image", BinaryType.Default, nullable: false),
    ], null);

    private readonly string _path;
    private readonly ImagesOptions _options;
    private IReadOnlyList<string>? _files;

    public ImagesDatasource(string path, ImagesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _path = path;
        _options = options;
    }

    public override string Name => $"images({_path})";

    public override DatasourceInputs? DescribeInputs() => FileLister.Describe(_path, _files ?? List()) with
    {
        Options = string.Create(CultureInfo.InvariantCulture, $"files_per_task {_options.FilesPerTask}"),
    };

    public override SourceEstimate? Estimate()
    {
        var files = List();
        var tasks = (files.Count + _options.FilesPerTask - 1) / _options.FilesPerTask;
        return new SourceEstimate(files.Sum(f => new FileInfo(f).Length), files.Count, tasks,
            string.Create(CultureInfo.InvariantCulture, $"{files.Count} image file{(files.Count == 1 ? "" : "s")} in {tasks} read task{(tasks == 1 ? "" : "s")} of at most {_options.FilesPerTask} files"));
    }

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var files = List();
        _files = files;
        var tasks = new List<ReadTask>();
        for (var start = 0; start < files.Count; start += _options.FilesPerTask)
            tasks.Add(new ImagesReadTask(files.Skip(start).Take(_options.FilesPerTask).ToList()));
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(ImagesSchema);

    // Images are never compressed again (.jpg.gz): a compressed name is refused by name.
    private IReadOnlyList<string> List() => FileLister.Expand(_path, Format, compressed: false);
}
