/* libFuzzer: the photo checks' decoders (JPEG, PNG, WebP) and measures on
 * whatever a person's file holds; what decodes has a size and sane
 * measures. */
#include <stdint.h>
#include <stdlib.h>

#include "photo_quality.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct photo_quality q;

	if (photo_quality_measure(data, size, &q) == 0 &&
	    (q.width == 0 || q.height == 0 || q.brightness < 0 || q.brightness > 255 ||
	    q.sharpness < 0))
		abort();
	(void)photo_quality_judge(&q);
	return 0;
}
