// EXIF orientation applied to pixels, as Pillow's ImageOps.exif_transpose does (before resizing).
#pragma once

#include "pipeline/image/image.h"

namespace nalar::pipeline {

// Returns the image as it should be displayed: orientation 1 returns `image` unchanged; 2-8 flip
// and/or rotate (5-8 swap width and height). Values outside 1-8 are treated as 1.
Image8 apply_orientation(Image8 image, int orientation);

}  // namespace nalar::pipeline
