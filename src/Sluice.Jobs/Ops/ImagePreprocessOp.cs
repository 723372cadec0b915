using Sluice.Inference;

namespace Sluice.Jobs.Ops;

/// <summary><c>image_preprocess</c>: encoded images (or image files named by a column) to a pixel tensor column (<see cref="ImagePreprocessOptions"/>).</summary>
internal sealed class ImagePreprocessOp() : ProcessorOp<ImagePreprocessProcessor, ImagePreprocessOptions>("image_preprocess",
    // Decoding and resizing are real CPU work (~7 ms per 1080p JPEG, DESIGN.md §5): each actor holds a core, so the pool
    // grows with cores and no more decoders run than there are cores.
    summary: "decode images (EXIF-oriented), resize shorter side + centre crop, normalize: a [3, size, size] tensor column")
{
    protected override StagePlan? Plan(ImagePreprocessOptions options, StageInput stage, SpecContext context)
    {
        if (options.Root is { } root && !Directory.Exists(root))
        {
            context.Error(SpecContext.Node(stage.Node, "root"), $"{stage.Path}.root", root,
                "the directory does not exist; give the directory the paths in path_column are relative to");
            return null;
        }
        return base.Plan(options, stage, context);
    }

    protected override IReadOnlyList<string> InputColumns(ImagePreprocessOptions options) => [options.PathColumn ?? options.Column];

    protected override IReadOnlyList<string>? OutputColumns(ImagePreprocessOptions options) => [options.Output];
}
