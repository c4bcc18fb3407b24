// aisha-face.so — counts faces for the photo checks (shared/faces.h) with
// OpenCV's frontal-face Haar cascade.  A module apart, loaded with dlopen
// by the photo checker only: the programs themselves never link OpenCV (a
// shared host without it runs them all the same, without this check), and
// Debian's OpenCV 4 has only a C++ interface, which this file keeps behind
// one C function.
#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/objdetect.hpp>

#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

std::unique_ptr<cv::CascadeClassifier> cascade;
std::string loaded;

} // namespace

extern "C" int aisha_face_count(const unsigned char *gray, int w, int h, const char *model);

// The faces in a w×h luma plane (rows of w bytes): -1 when the model cannot
// be loaded or OpenCV fails.  A face counts when it is at least an eighth of
// the short side; five overlapping hits make one (few false faces).
extern "C" int
aisha_face_count(const unsigned char *gray, int w, int h, const char *model)
{
	try {
		if (!cascade || loaded != model) {
			/* one photo at a time on the caller's thread: no pool of
			 * OpenCV's own (the checker is one process on a small server) */
			cv::setNumThreads(0);
			cascade = std::make_unique<cv::CascadeClassifier>();
			loaded = model;
			if (!cascade->load(model)) {
				cascade.reset();
				return -1;
			}
		}
		const cv::Mat img(h, w, CV_8UC1, const_cast<unsigned char *>(gray));
		const int side = (w < h ? w : h) / 8;
		std::vector<cv::Rect> faces;
		cascade->detectMultiScale(img, faces, 1.1, 5, 0, cv::Size(side, side));
		return static_cast<int>(faces.size());
	} catch (const std::exception &) {
		return -1;
	}
}
