# Run by the goro_cargo target after `cargo build` (cmake -P): copies cargo's outputs into the
# staging directory under their installed names and checks the soname.
#
#   STAGE/lib/libgoro.so.0.1.0      copy of CARGO_OUT/libgoro.so   (SO_REAL)
#   STAGE/lib/libgoro.so.0      ->  libgoro.so.0.1.0               (SO_NAME, what the loader asks for)
#   STAGE/lib/libgoro.so        ->  libgoro.so.0                   (what -lgoro finds)
#   STAGE/lib/libgoro.a             copy of CARGO_OUT/libgoro.a
#   STAGE/include/goro.h            copy of the header ffi/build.rs generated
#
# Inputs (all -D): CARGO_OUT, HEADER, STAGE, SO_REAL, SO_NAME, READELF (may be empty).

foreach(_f "${CARGO_OUT}/libgoro.so" "${CARGO_OUT}/libgoro.a" "${HEADER}")
  if(NOT EXISTS "${_f}")
    message(FATAL_ERROR "goro: cargo finished but ${_f} is missing")
  endif()
endforeach()

file(MAKE_DIRECTORY "${STAGE}/lib" "${STAGE}/include")

# copy_if_different keeps timestamps stable when cargo had nothing to do.
function(_goro_copy from to)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${from}" "${to}"
                  RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "goro: cannot copy ${from} to ${to}")
  endif()
endfunction()
_goro_copy("${CARGO_OUT}/libgoro.so" "${STAGE}/lib/${SO_REAL}")
_goro_copy("${CARGO_OUT}/libgoro.a" "${STAGE}/lib/libgoro.a")
_goro_copy("${HEADER}" "${STAGE}/include/goro.h")
file(REMOVE "${STAGE}/lib/${SO_NAME}" "${STAGE}/lib/libgoro.so")
file(CREATE_LINK "${SO_REAL}" "${STAGE}/lib/${SO_NAME}" SYMBOLIC)
file(CREATE_LINK "${SO_NAME}" "${STAGE}/lib/libgoro.so" SYMBOLIC)

# A library without the expected soname would make every consumer record the wrong DT_NEEDED.
if(READELF)
  execute_process(COMMAND "${READELF}" -d "${STAGE}/lib/${SO_REAL}"
                  OUTPUT_VARIABLE _dyn RESULT_VARIABLE _rc)
  if(_rc EQUAL 0)
    if(_dyn MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
      set(_soname "${CMAKE_MATCH_1}")
    else()
      set(_soname "")
    endif()
    if(NOT _soname STREQUAL SO_NAME)
      message(FATAL_ERROR
        "goro: ${CARGO_OUT}/libgoro.so has soname '${_soname}', expected '${SO_NAME}'.\n"
        "ffi/build.rs must print cargo:rustc-cdylib-link-arg=-Wl,-soname,${SO_NAME}")
    endif()
  endif()
endif()
