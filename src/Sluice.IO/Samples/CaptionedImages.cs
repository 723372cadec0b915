using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;

namespace Sluice.IO.Samples;

/// <summary>
/// (image, caption) rows without a download, for the dual-tower case study: each image is a shape (circle, square,
/// stripes, ring or cross) in one colour on a background of another, drawn at 224x224 with a little noise, and its
/// caption says so ("a red circle on a blue background"). Columns: <c>id</c> int64, <c>caption</c> string, <c>image</c>
/// a uint8 tensor [3, 224, 224] (RGB, the layout a decoder hands a CNN). Deterministic: row i is the same everywhere.
/// </summary>
public sealed class CaptionedImages(long rows, int tasks = 4) : Datasource
{
    public const int Side = 224;
    private const int Pixels = Side * Side;

    private static readonly (string Name, byte R, byte G, byte B)[] Colors =
    [
        ("red", 220, 40, 40), ("green", 40, 180, 60), ("blue", 40, 70, 220), ("yellow", 235, 210, 40),
        ("white", 245, 245, 245), ("black", 15, 15, 15), ("purple", 140, 50, 170), ("orange", 240, 140, 30),
    ];

    private static readonly string[] Shapes = ["circle", "square", "striped pattern", "ring", "cross"];

    public static Schema Schema { get; } = new(
    [
        new Field("id", Int64Type.Default, nullable: false),
        new Field("caption", StringType.Default, nullable: false),
        TensorColumns.Create("image", System.Array.Empty<byte>(), 0, [3, Side, Side]).Field,
    ], null);

    public override string Name => $"captioned-images({rows})";

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(Schema);

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var n = (int)Math.Max(1, Math.Min(tasks, rows));
        var per = (rows + n - 1) / n;
        var list = new List<ReadTask>();
        for (long start = 0; start < rows; start += per) list.Add(new Task(start, Math.Min(per, rows - start)));
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(list);
    }

    /// <summary>Rows <paramref name="start"/> .. start + count - 1 as one batch.</summary>
    public static RecordBatch Batch(long start, int count)
    {
        var ids = new Int64Array.Builder();
        var captions = new StringArray.Builder();
        var pixels = new byte[count * 3 * Pixels];
        for (var r = 0; r < count; r++)
        {
            var id = start + r;
            ids.Append(id);
            captions.Append(Draw(id, pixels.AsSpan(r * 3 * Pixels, 3 * Pixels)));
        }
        var (field, image) = TensorColumns.Create("image", pixels, count, [3, Side, Side]);
        return new RecordBatch(new Schema([Schema.FieldsList[0], Schema.FieldsList[1], field], null), [ids.Build(), captions.Build(), image], count);
    }

    /// <summary>Draws row <paramref name="id"/> into <paramref name="rgb"/> (planar R, G, B) and returns its caption.</summary>
    private static string Draw(long id, Span<byte> rgb)
    {
        var random = new Random((int)(id * 7919 % int.MaxValue));
        var fg = Colors[random.Next(Colors.Length)];
        var bg = Colors[random.Next(Colors.Length)];
        while (bg.Name == fg.Name) bg = Colors[random.Next(Colors.Length)];
        var shape = Shapes[random.Next(Shapes.Length)];
        var (cx, cy, size) = (random.Next(70, 154), random.Next(70, 154), random.Next(35, 65));
        for (var y = 0; y < Side; y++)
        {
            for (var x = 0; x < Side; x++)
            {
                var (dx, dy) = (x - cx, y - cy);
                var d = Math.Sqrt(dx * dx + dy * dy);
                var inside = shape switch
                {
                    "circle" => d <= size,
                    "square" => Math.Abs(dx) <= size && Math.Abs(dy) <= size,
                    "ring" => d <= size && d >= size * 0.6,
                    "cross" => (Math.Abs(dx) <= size / 4 && Math.Abs(dy) <= size) || (Math.Abs(dy) <= size / 4 && Math.Abs(dx) <= size),
                    _ => (x + y) / 16 % 2 == 0,
                };
                var c = inside ? fg : bg;
                var noise = random.Next(-12, 13);
                var p = y * Side + x;
                rgb[p] = Clamp(c.R + noise);
                rgb[Pixels + p] = Clamp(c.G + noise);
                rgb[2 * Pixels + p] = Clamp(c.B + noise);
            }
        }
        return shape == "striped pattern" ? $"a {fg.Name} and {bg.Name} striped pattern" : $"a {fg.Name} {shape} on a {bg.Name} background";
    }

    private static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    private sealed class Task(long start, long length) : ReadTask
    {
        public override string Id => $"captioned-images[{start}..{start + length})";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await System.Threading.Tasks.Task.Yield();
            for (long offset = 0; offset < length; offset += blockRows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return Batch(start + offset, (int)Math.Min(blockRows, length - offset));
            }
        }
    }
}
