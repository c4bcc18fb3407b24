/*
 * faces — how many faces a photo shows, for the checks of a portrait's
 * photos: OpenCV's frontal-face cascade, through the optional module
 * aisha-face.so (plugins/face_opencv.cc, built where Debian's OpenCV is)
 * next to the program, loaded with dlopen on first use.  Without the module
 * or its model file (FACE_MODEL) faces are not counted and the other checks
 * go on: nothing else links OpenCV, so a server without it runs the same
 * programs.
 */
#ifndef AISHA_FACES_H
#define AISHA_FACES_H

/* Loads the module for model (a cascade's XML file): 1 faces can be
 * counted, 0 not (logged once). */
int faces_open(const char *model);
/* The faces in a w×h luma plane (rows of w bytes), -1 when not counted. */
int faces_count(const unsigned char *gray, unsigned w, unsigned h);

#endif
